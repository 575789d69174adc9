#include "elit/data/fashion_mnist.h"

#include "elit/runtime/error.h"

namespace elit::data {

LabeledImages load_fashion_mnist(const std::string& split, const std::string& dir) {
  check(split == "train" || split == "test", "Fashion-MNIST split must be 'train' or 'test', got '",
        split, "'");
  const std::string prefix = split == "train" ? "train" : "t10k";
  LabeledImages out;
  out.images = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  out.labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz").to(torch::kInt64);
  check(out.images.dim() == 3 && out.labels.dim() == 1 && out.images.size(0) == out.labels.size(0),
        "Fashion-MNIST ", split, " files in '", dir, "' disagree: ", out.images.sizes(),
        " images, ", out.labels.sizes(), " labels");
  return out;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

torch::Tensor to_model_space(const torch::Tensor& images, int64_t size) {
  auto x = images.to(torch::kFloat32).div(127.5).sub(1.0).unsqueeze(1);  // [N, 1, 28, 28]
  const int64_t h = x.size(2), w = x.size(3);
  if (size >= h && size >= w) {
    const int64_t top = (size - h) / 2, left = (size - w) / 2;
    return torch::constant_pad_nd(x, {left, size - w - left, top, size - h - top}, -1.0);
  }
  return torch::upsample_bilinear2d(x, {size, size}, /*align_corners=*/false);
}

}  // namespace elit::data

namespace elit::data {

FashionMnistDataset::FashionMnistDataset(const DatasetOptions& o)
    : data_(load_fashion_mnist(o.split, o.data_dir.empty() ? kFashionMnistDir : o.data_dir)) {
  data_.labels = data_.labels.contiguous();
  labels_ = data_.labels.data_ptr<int64_t>();
  const int64_t size = o.resolution > 0 ? o.resolution : 32;  // 28 padded to a patchable 32
  flip_ = o.random_flip == 1;
  info_.kind = "fashion_mnist";
  info_.name = "fashion_mnist:" + o.split;
  info_.data_space = "pixels";
  info_.channels = 1;
  info_.height = info_.width = size;
  info_.num_classes = 10;
  info_.labeled = true;
  info_.class_names = fashion_mnist_classes();
}

Example FashionMnistDataset::get(int64_t index, uint64_t seed) const {
  auto x = to_model_space(data_.images.narrow(0, index, 1), info_.height)[0];  // [1, S, S]
  if (flip_ && uniform_from_seed(seed) < 0.5) x = x.flip({2});
  return {x, labels_[index]};
}

}  // namespace elit::data
