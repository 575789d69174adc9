// Image folders (classes, ADM crop, bad images), latent shards (scaling, posterior samples) and
// Fashion-MNIST through the dataset interface.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elit/data/fashion_mnist.h"
#include "elit/data/image_folder.h"
#include "elit/data/latent_shards.h"
#include "elit/io/image.h"
#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::data {
namespace {
namespace fs = std::filesystem;

void write_image(const fs::path& path, int64_t h, int64_t w, int64_t c, int value) {
  fs::create_directories(path.parent_path());
  io::write_png(path.string(), torch::full({h, w, c}, value, torch::kUInt8));
}

TEST(ImageFolder, AdmCenterCrop) {
  // A 100x60 image: left half black, right half white. Short side 60 -> 2 halvings? no: 60 < 2*32.
  auto img = torch::zeros({60, 100, 3}, torch::kUInt8);
  img.narrow(1, 50, 50).fill_(255);
  const auto out = adm_center_crop(img, 32);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{32, 32, 3}));
  // The crop is centred: black on the left, white on the right, the edge in the middle.
  EXPECT_EQ(out[16][0][0].item<uint8_t>(), 0);
  EXPECT_EQ(out[16][31][0].item<uint8_t>(), 255);
  // Large images are halved first; a constant image stays constant.
  const auto big = adm_center_crop(torch::full({300, 500, 1}, 77, torch::kUInt8), 32);
  EXPECT_EQ(big.sizes(), (std::vector<int64_t>{32, 32, 1}));
  EXPECT_TRUE(torch::all(big == 77).item<bool>());
}

TEST(ImageFolder, ClassesFromSubfoldersAndBadImages) {
  const fs::path root = elit::testing::temp_dir("image_folder");
  write_image(root / "cat" / "a.png", 40, 40, 3, 255);
  write_image(root / "cat" / "b.png", 40, 48, 3, 255);
  write_image(root / "dog" / "sub" / "c.png", 36, 36, 3, 0);
  std::ofstream(root / "dog" / "broken.png") << "not a png";
  DatasetOptions o;
  o.kind = "image_folder";
  o.data_dir = root.string();
  o.resolution = 32;
  o.random_flip = 0;
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->info().num_classes, 2);
  EXPECT_EQ(ds->info().class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds->info().channels, 3);
  auto e = ds->get(0, 0);
  EXPECT_EQ(e.x.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_FLOAT_EQ(e.x.max().item<float>(), 1.0f);
  EXPECT_EQ(e.label, 0);
  // Sorted paths: dog/broken.png (index 2) fails and names its path ...
  try {
    ds->get(2, 0);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("broken.png"), std::string::npos) << err.what();
  }
  // ... or, with skip, is reported once and replaced by the next readable image.
  std::vector<std::string> warnings;
  o.on_bad_image = "skip";
  o.warn = [&](const std::string& m) { warnings.push_back(m); };
  auto skipping = make_dataset(o);
  const auto replaced = skipping->get(2, 0);
  EXPECT_EQ(replaced.label, 1);
  EXPECT_FLOAT_EQ(replaced.x.max().item<float>(), -1.0f);  // the black dog image
  skipping->get(2, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("broken.png"), std::string::npos);
}

TEST(ImageFolder, UnlabeledAndErrors) {
  const fs::path root = elit::testing::temp_dir("image_folder_flat");
  write_image(root / "x.png", 16, 16, 1, 128);
  DatasetOptions o;
  o.kind = "image_folder";
  o.data_dir = root.string();
  o.resolution = 16;
  auto ds = make_dataset(o);
  EXPECT_FALSE(ds->info().labeled);
  EXPECT_EQ(ds->info().num_classes, 1);
  EXPECT_EQ(ds->info().channels, 1);
  o.data_dir = (root / "missing").string();
  try {
    make_dataset(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
  o.kind = "imagenet";
  EXPECT_THROW(make_dataset(o), Error);
}

TEST(LatentShards, ScaleAndPosteriorSamples) {
  const fs::path root = elit::testing::temp_dir("latents");
  const auto z = torch::randn({6, 4, 4, 4});
  io::write_safetensors((root / "a.safetensors").string(),
                        {{"latents", z.narrow(0, 0, 4)}, {"labels", torch::arange(4)}});
  io::write_safetensors((root / "b.safetensors").string(),
                        {{"latents", z.narrow(0, 4, 2)}, {"labels", torch::tensor({7, 2})}});
  DatasetOptions o;
  o.kind = "latents";
  o.data_dir = root.string();
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->size(), 6);
  EXPECT_EQ(ds->info().num_classes, 8);
  EXPECT_EQ(ds->info().data_space, "latents");
  auto e = ds->get(4, 0);
  EXPECT_EQ(e.label, 7);
  EXPECT_TRUE(torch::allclose(e.x, z[4] * 0.18215));

  // mean_std: a fresh sample per seed around the mean with the given std.
  const fs::path post = elit::testing::temp_dir("latents_posterior");
  const auto mean = torch::randn({1, 2, 8, 8}), std = torch::full({1, 2, 8, 8}, 0.5);
  io::write_safetensors((post / "s.safetensors").string(),
                        {{"mean_std", torch::cat({mean, std}, 1)}});
  o.data_dir = post.string();
  o.latents_scale = 1.0;
  auto p = make_dataset(o);
  EXPECT_EQ(p->info().channels, 2);
  EXPECT_FALSE(p->info().labeled);
  EXPECT_TRUE(torch::equal(p->get(0, 5).x, p->get(0, 5).x));
  EXPECT_FALSE(torch::equal(p->get(0, 5).x, p->get(0, 6).x));
  auto samples = torch::stack({p->get(0, 1).x, p->get(0, 2).x, p->get(0, 3).x, p->get(0, 4).x});
  const auto eps = (samples - mean[0]) / 0.5;
  EXPECT_NEAR(eps.mean().item<double>(), 0.0, 0.15);
  EXPECT_NEAR(eps.std().item<double>(), 1.0, 0.15);
  // A shard without latents is named in the error.
  io::write_safetensors((post / "t.safetensors").string(), {{"other", torch::zeros({1})}});
  try {
    make_dataset(o);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("t.safetensors"), std::string::npos);
  }
}

TEST(FashionMnistDataset, TestSplitInModelSpace) {
  DatasetOptions o;
  o.split = "test";
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->size(), 10000);
  EXPECT_EQ(ds->info().num_classes, 10);
  const auto e = ds->get(0, 0);
  EXPECT_EQ(e.x.sizes(), (std::vector<int64_t>{1, 32, 32}));
  EXPECT_EQ(e.label, load_fashion_mnist("test").labels[0].item<int64_t>());
  EXPECT_GE(e.x.min().item<float>(), -1.0f);
  EXPECT_LE(e.x.max().item<float>(), 1.0f);
  o.data_dir = "/nonexistent/fmnist";
  try {
    make_dataset(o);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("/nonexistent/fmnist"), std::string::npos);
  }
}

}  // namespace
}  // namespace elit::data
