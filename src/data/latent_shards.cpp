#include "elit/data/latent_shards.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>

#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"

namespace elit::data {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> shard_files(const std::string& dir) {
  check(!dir.empty(), "dataset latents needs data_dir (a folder of .safetensors shards)");
  check(fs::is_directory(dir), "data_dir '", dir, "' is not a folder");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  check(!files.empty(), "no .safetensors shards in '", dir, "'");
  return files;
}

}  // namespace

LatentShardDataset::LatentShardDataset(const DatasetOptions& o) : flip_(o.random_flip == 1) {
  int64_t max_label = -1;
  std::vector<int64_t> shape;
  bool labeled = true;
  for (const auto& file : shard_files(o.data_dir)) {
    auto tensors = io::read_safetensors(file).tensors;
    const bool posterior = tensors.count("mean_std") > 0;
    check(posterior || tensors.count("latents"), "latent shard '", file,
          "' has neither 'latents' [N, C, H, W] nor 'mean_std' [N, 2C, H, W]");
    if (values_.empty()) posterior_ = posterior;
    check(posterior == posterior_, "latent shard '", file,
          "' mixes 'latents' and 'mean_std' with the other shards");
    auto v = tensors.at(posterior ? "mean_std" : "latents");
    check(v.dim() == 4 && v.is_floating_point(), "latent shard '", file,
          "': expected a floating [N, C, H, W] tensor, got ", v.scalar_type(), " ", v.sizes());
    if (shape.empty()) shape = v.sizes().slice(1).vec();
    check(v.sizes().slice(1).vec() == shape, "latent shard '", file, "' has shape ", v.sizes(),
          ", the first shard [N, ", shape, "]");
    torch::Tensor y;
    if (tensors.count("labels")) {
      y = tensors.at("labels");
      check(y.dim() == 1 && y.size(0) == v.size(0) && !y.is_floating_point(), "latent shard '",
            file, "': labels must be integer [", v.size(0), "], got ", y.sizes());
      y = y.to(torch::kInt64);
      check(y.numel() == 0 || y.min().item<int64_t>() >= 0, "latent shard '", file,
            "' has negative labels");
      if (y.numel()) max_label = std::max(max_label, y.max().item<int64_t>());
    }
    labeled = labeled && y.defined();
    values_.push_back(v);
    labels_.push_back(y);
    offsets_.push_back(offsets_.back() + v.size(0));
  }
  check(size() > 0, "latent shards in '", o.data_dir, "' hold no examples");
  check(!posterior_ || shape[0] % 2 == 0, "'mean_std' needs an even channel count, got ", shape[0]);
  info_.kind = "latents";
  info_.name = "latents:" + o.data_dir;
  info_.data_space = "latents";
  info_.channels = posterior_ ? shape[0] / 2 : shape[0];
  info_.height = shape[1];
  info_.width = shape[2];
  // The published script encodes images at `resolution` with the 8x-downsampling SD-VAE.
  check(o.resolution <= 0 || o.resolution == 8 * info_.height, "resolution ", o.resolution,
        " does not match latents of ", info_.height, "x", info_.width, " (expected ",
        8 * info_.height, " = 8 x latent size)");
  info_.labeled = labeled;
  info_.num_classes = labeled ? max_label + 1 : 1;
  info_.latents_scale = o.latents_scale;
  info_.latents_bias = o.latents_bias;
}

Example LatentShardDataset::get(int64_t index, uint64_t seed) const {
  const auto shard =
      std::upper_bound(offsets_.begin(), offsets_.end(), index) - offsets_.begin() - 1;
  const int64_t row = index - offsets_[shard];
  auto v = values_[shard][row].to(torch::kFloat32);
  torch::Tensor z = v;
  if (posterior_) {
    const auto mean = v.narrow(0, 0, info_.channels),
               std = v.narrow(0, info_.channels, info_.channels);
    auto gen = at::detail::createCPUGenerator(seed);
    z = mean + std * torch::randn(mean.sizes(), gen, torch::kFloat32);
  }
  z = z * info_.latents_scale + info_.latents_bias;
  if (flip_ && data::uniform_from_seed(seed ^ 1) < 0.5) z = z.flip({2});
  const auto& y = labels_[shard];
  return {z.contiguous(), y.defined() ? y[row].item<int64_t>() : 0};
}

}  // namespace elit::data
