// Pre-encoded latents (e.g. SD-VAE latents of ImageNet) as safetensors shards: every
// *.safetensors file in data_dir (sorted by name) holds
//   "latents"  [N, C, H, W]  one latent per image, or
//   "mean_std" [N, 2C, H, W] the posterior mean and std of each image, what the published
//                            preprocessing stores (img-mean-std-*.npy); each example is then a
//                            fresh sample mean + std * eps, as the published sample_posterior;
// and optionally "labels" [N] (int64 or int32; without them the data is unlabeled).
// Every example is scaled as the published train.py does: z * latents_scale + latents_bias
// (0.18215 and 0 by default: the shards hold raw VAE latents).
#pragma once
#include "elit/data/dataset.h"

namespace elit::data {

class LatentShardDataset : public Dataset {
 public:
  explicit LatentShardDataset(const DatasetOptions& options);
  int64_t size() const override { return offsets_.back(); }
  Example get(int64_t index, uint64_t seed) const override;
  const DatasetInfo& info() const override { return info_; }

 private:
  std::vector<torch::Tensor> values_, labels_;  // per shard
  std::vector<int64_t> offsets_{0};             // first index of each shard, then the total
  bool posterior_ = false;
  bool flip_ = false;
  DatasetInfo info_;
};

}  // namespace elit::data
