// Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX files, gzip-compressed), the
// project's default dataset.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "elit/data/dataset.h"
#include "elit/data/idx_file.h"

namespace elit::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct LabeledImages {
  torch::Tensor images;  // uint8 [N, H, W] (28 x 28)
  torch::Tensor labels;  // int64 [N], 0..9
};

// split: "train" (60,000) or "test" (10,000). Throws elit::Error naming the file when it is
// missing or corrupt, and says which package provides it.
LabeledImages load_fashion_mnist(const std::string& split,
                                 const std::string& dir = kFashionMnistDir);

// The class names in label order ("T-shirt/top", "Trouser", ...).
const std::vector<std::string>& fashion_mnist_classes();

// uint8 [N, 28, 28] -> float [N, 1, size, size] in [-1, 1]: zero-padded (centred) when size >=
// 28, bilinearly resized otherwise.
torch::Tensor to_model_space(const torch::Tensor& images, int64_t size);

// The training dataset view: options.split, padded to options.resolution (default 32) in
// [-1, 1], labels 0..9; optional random horizontal flip (off by default).
class FashionMnistDataset : public Dataset {
 public:
  explicit FashionMnistDataset(const DatasetOptions& options);
  int64_t size() const override { return data_.labels.size(0); }
  Example get(int64_t index, uint64_t seed) const override;
  const DatasetInfo& info() const override { return info_; }

 private:
  LabeledImages data_;
  const int64_t* labels_ = nullptr;
  DatasetInfo info_;
  bool flip_ = false;
};

}  // namespace elit::data
