// Training datasets: Fashion-MNIST (the default), image folders and pre-encoded latent shards,
// behind one interface that the background loader and the trainer use.
//
// Every example comes out in model space: float32 [C, H, W], pixels in [-1, 1] or scaled latents.
// Random augmentation (flips, posterior samples) is driven by a per-example seed, so an example
// is the same whichever loader thread reads it and whenever a run is resumed.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace elit::data {

struct DatasetInfo {
  std::string kind;        // "fashion_mnist", "image_folder", "latents"
  std::string name;        // e.g. "fashion_mnist:train", "image_folder:/data/flowers"
  std::string data_space;  // "pixels" or "latents"
  int64_t channels = 0, height = 0, width = 0;
  int64_t num_classes = 1;  // labels are in [0, num_classes); unlabeled data has one class
  bool labeled = false;
  std::vector<std::string> class_names;
  double latents_scale = 1.0, latents_bias = 0.0;  // applied to latents (z * scale + bias)
};

struct Example {
  torch::Tensor x;    // float32 [C, H, W]
  int64_t label = 0;  // 0 for unlabeled data
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index` in model space with its label. Thread-safe.
  virtual Example get(int64_t index, uint64_t seed) const = 0;
  virtual const DatasetInfo& info() const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

struct DatasetOptions {
  std::string kind = "fashion_mnist";  // fashion_mnist | image_folder | latents
  std::string data_dir;                // empty: the kind's default (Fashion-MNIST's Debian folder)
  std::string split = "train";         // Fashion-MNIST: train | test
  int64_t resolution = 0;              // pixels: output size (0: the dataset's own, 32 for FMNIST)
  int random_flip = -1;                // -1: the kind's default (image folders 1, others 0)
  std::string on_bad_image = "fail";   // image folders: "fail" or "skip" (reported by path)
  double latents_scale = 0.18215, latents_bias = 0.0;  // published SD-VAE constants
  std::function<void(const std::string&)> warn;        // warnings (default: stderr)
};

// Builds the dataset the options name; throws elit::Error naming the path/key that is wrong.
DatasetPtr make_dataset(const DatasetOptions& options);

// The per-example augmentation seed: a hash of the run seed, epoch and example index.
uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index);
// A uniform [0, 1) double and a fair coin from a seed (portable: no std distributions).
double uniform_from_seed(uint64_t seed);

}  // namespace elit::data
