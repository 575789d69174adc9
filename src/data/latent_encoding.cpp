#include "elit/data/latent_encoding.h"

#include <cstdio>
#include <filesystem>

#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"

namespace elit::data {
namespace fs = std::filesystem;
namespace {

std::string shard_path(const std::string& dir, int64_t index) {
  char name[40];
  std::snprintf(name, sizeof name, "shard-%05lld.safetensors", static_cast<long long>(index));
  return (fs::path(dir) / name).string();
}

// The number of examples of a shard left by an earlier run, or -1 when it is absent.
int64_t existing_examples(const std::string& path, int64_t expected) {
  if (!fs::exists(path)) return -1;
  const auto t = io::read_safetensors(path).tensors;
  check(t.count("mean_std") && t.at("mean_std").size(0) == expected, "'", path,
        "' is not a complete shard of this encoding (expected ", expected,
        " examples); remove "
        "the folder to start again");
  return expected;
}

// Examples [begin, end) of the encoding: image i / (flips ? 2 : 1), mirrored when odd with flips.
std::pair<torch::Tensor, torch::Tensor> shard_inputs(const Dataset& images, int64_t begin,
                                                     int64_t end, bool flips) {
  std::vector<torch::Tensor> xs;
  auto labels = torch::empty({end - begin}, torch::kInt64);
  for (int64_t e = begin; e < end; ++e) {
    const auto ex = images.get(flips ? e / 2 : e, /*seed=*/0);
    xs.push_back(flips && e % 2 == 1 ? ex.x.flip({2}) : ex.x);  // [C, H, W]
    labels[e - begin] = ex.label;
  }
  return {torch::stack(xs), labels};  // [n, C, H, W], [n]
}

}  // namespace

EncodeDatasetResult encode_dataset(models::AutoencoderKLImpl& vae, const Dataset& images,
                                   const std::string& out_dir, const EncodeDatasetOptions& o) {
  check(o.shard_size > 0, "shard size must be > 0, got ", o.shard_size);
  const auto& info = images.info();
  check(info.data_space == "pixels", "encode-dataset needs images, got ", info.data_space);
  check(info.channels == vae.config().in_channels, "the images have ", info.channels,
        " channels, the VAE takes ", vae.config().in_channels);
  const int64_t n_images = o.max_images > 0 ? std::min(o.max_images, images.size()) : images.size();
  const int64_t total = n_images * (o.flips ? 2 : 1);
  fs::create_directories(out_dir);
  EncodeDatasetResult r;
  r.examples = total;
  for (int64_t begin = 0, s = 0; begin < total; begin += o.shard_size, ++s) {
    const int64_t end = std::min(total, begin + o.shard_size);
    const auto path = shard_path(out_dir, s);
    ++r.shards;
    if (existing_examples(path, end - begin) >= 0) {
      ++r.resumed_shards;
    } else {
      const auto [x, labels] = shard_inputs(images, begin, end, o.flips);
      auto codec = o.codec;
      codec.progress = [&](int64_t done, int64_t) {
        if (o.progress) o.progress(begin + done, total);
      };
      const auto mean_std = models::encode_mean_std(vae, x, codec);  // [n, 2C, h, w]
      r.latent_shape = mean_std.sizes().slice(1).vec();
      io::write_safetensors(path, {{"mean_std", mean_std}, {"labels", labels}},
                            {{"elit.dataset", info.name},
                             {"elit.vae_scale_factor", std::to_string(vae.config().scale_factor)},
                             {"elit.flips", o.flips ? "true" : "false"}});
    }
    if (o.progress) o.progress(end, total);
  }
  return r;
}

}  // namespace elit::data
