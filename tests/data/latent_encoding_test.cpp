// encode-dataset: an image folder with class sub-folders becomes latent shards (posterior mean
// and std, labels) that the trainer's LatentShardDataset reads; flips double the examples; a
// second run resumes from the complete shards.
#include "elit/data/latent_encoding.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "elit/data/latent_shards.h"
#include "elit/io/image.h"
#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::data {
namespace {
namespace fs = std::filesystem;

// Three classes of five 20x24 RGB images.
std::string make_folder() {
  const auto dir = testing::temp_dir("encode_folder");
  torch::manual_seed(0);
  for (const char* cls : {"cat", "dog", "emu"}) {
    fs::create_directories(fs::path(dir) / cls);
    for (int i = 0; i < 5; ++i) {
      const auto img = torch::randint(0, 256, {20, 24, 3}, torch::kInt64).to(torch::kUInt8);
      io::write_png(dir + "/" + cls + "/" + std::to_string(i) + ".png", img);
    }
  }
  return dir;
}

models::AutoencoderKLConfig tiny() {
  models::AutoencoderKLConfig c;
  c.ch = 32;
  c.ch_mult = {1, 2};  // f = 2
  c.num_res_blocks = 1;
  return c;
}

TEST(EncodeDataset, ShardsLoadInTheTrainerWithLabelsAndResume) {
  const auto folder = make_folder();
  DatasetOptions d;
  d.kind = "image_folder";
  d.data_dir = folder;
  d.resolution = 16;  // ADM centre crop of 20x24
  d.random_flip = 0;
  const auto images = make_dataset(d);
  models::AutoencoderKL vae(tiny());
  vae->eval();
  EncodeDatasetOptions o;
  o.shard_size = 4;
  o.flips = true;
  const auto out = testing::temp_dir("encode_shards");
  const auto r = encode_dataset(*vae, *images, out, o);
  EXPECT_EQ(r.examples, 30);
  EXPECT_EQ(r.shards, 8);  // 30 examples, 4 per shard
  EXPECT_EQ(r.resumed_shards, 0);
  EXPECT_EQ(r.latent_shape, (std::vector<int64_t>{8, 8, 8}));  // mean and std of 4 channels
  // The trainer's dataset of latents.
  DatasetOptions l;
  l.kind = "latents";
  l.data_dir = out;
  const auto latents = make_dataset(l);
  EXPECT_EQ(latents->size(), 30);
  EXPECT_EQ(latents->info().channels, 4);
  EXPECT_EQ(latents->info().height, 8);
  EXPECT_EQ(latents->info().num_classes, 3);
  EXPECT_EQ(latents->get(0, 1).label, 0);
  EXPECT_EQ(latents->get(29, 1).label, 2);
  // Example 2k+1 is the mirror of 2k: its posterior mean is the encoding of the flipped image.
  const auto shard = io::read_safetensors(out + "/shard-00000.safetensors").tensors;
  torch::NoGradGuard no_grad;
  const auto x0 = images->get(0, 0).x.unsqueeze(0);
  const auto p = vae->encode(x0.flip({3}));
  EXPECT_TRUE(torch::allclose(shard.at("mean_std")[1].narrow(0, 0, 4), p.mean[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(shard.at("mean_std")[1].narrow(0, 4, 4), p.std()[0], 1e-5, 1e-5));
  // Drawn training examples are mean + std * eps, scaled by 0.18215.
  EXPECT_EQ(latents->get(3, 7).x.sizes(), (torch::IntArrayRef{4, 8, 8}));
  // Run again: every shard is complete and kept.
  const auto again = encode_dataset(*vae, *images, out, o);
  EXPECT_EQ(again.resumed_shards, 8);
  // A shard cut short by an earlier run's different settings is named.
  o.shard_size = 5;
  try {
    encode_dataset(*vae, *images, out, o);
    FAIL() << "expected an error";
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard-00000.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace elit::data
