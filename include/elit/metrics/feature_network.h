// A feature network turns images into the vectors the metrics compare. Implementations: the
// project's Fashion-MNIST classifier (safetensors; the default), an Inception TorchScript file with
// the interface of NVLabs' inception-2015-12-05.pt (FID/sFID/IS comparable to published numbers),
// DINOv2 (FDD) and any other TorchScript feature extractor.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>

#include "elit/metrics/progress_callback.h"

namespace elit::metrics {

// Outputs for a batch (or a whole set) of images; undefined tensors where a network has none.
struct FeatureSet {
  torch::Tensor features;  // [N, D] float: FD, precision/recall, KID
  torch::Tensor probs;     // [N, C] class probabilities: Inception Score
  torch::Tensor spatial;   // [N, S] spatial features: sFID
  int64_t count() const { return features.defined() ? features.size(0) : 0; }
  FeatureSet slice(int64_t begin, int64_t end) const;  // rows [begin, end)
};

class FeatureNetwork {
 public:
  virtual ~FeatureNetwork() = default;
  // Identifies the network (and its weights) in reference batches, so that statistics from
  // another network are refused instead of giving a meaningless distance.
  virtual std::string name() const = 0;
  virtual bool has_probs() const = 0;
  virtual bool has_spatial() const = 0;
  // images: uint8 [B, H, W, C], C = 1 (grey) or 3 (RGB), values 0..255 (ADM's arr_0 layout).
  // Results on the CPU, float32 or float64.
  virtual FeatureSet extract(const torch::Tensor& images) = 0;
  virtual int64_t batch_size() const { return 64; }
};

// Checks and normalises a set of images to uint8 [N, H, W, C] with C in {1, 3}: [N, H, W] grey is
// given a channel axis. `origin` names the data in errors (wrong dtype, rank or channel count).
torch::Tensor as_nhwc_images(const torch::Tensor& images, const std::string& origin);

// Runs `net` over all images in batches of `batch_size` (0: the network's own), concatenating.
FeatureSet extract_features(FeatureNetwork& net, const torch::Tensor& images,
                            int64_t batch_size = 0, const ProgressCallback& progress = {});

// "default" (the Fashion-MNIST classifier at `file`, trained there when missing only through
// load_or_train_default_classifier), "classifier" (a classifier safetensors file), "inception",
// "dinov2" or "torchscript" (a TorchScript file returning [B, D] or [B, T, D] features from
// float images in [0, 1]).
std::unique_ptr<FeatureNetwork> open_feature_network(const std::string& kind,
                                                     const std::string& file,
                                                     const torch::Device& device = torch::kCPU);

}  // namespace elit::metrics
