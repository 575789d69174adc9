#include "elit/data/fashion_mnist.h"

#include <filesystem>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/runtime/gzip.h"

namespace elit::data {

torch::Tensor read_idx(const std::string& path) {
  check(std::filesystem::exists(path), "dataset file '", path,
        "' not found (Fashion-MNIST comes from the Debian package dataset-fashion-mnist: "
        "run scripts/setup.sh)");
  std::string bytes = read_file(path);
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
      static_cast<uint8_t>(bytes[1]) == 0x8b) {
    bytes = gunzip(bytes, path);
  }
  check(bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08, "'", path,
        "' is not an unsigned-byte IDX file");
  const int dims = static_cast<uint8_t>(bytes[3]);
  check(dims >= 1 && dims <= 4 && bytes.size() >= 4 + 4 * static_cast<size_t>(dims), "'", path,
        "': bad IDX header");
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    int64_t n = 0;
    for (int b = 0; b < 4; ++b) n = (n << 8) | static_cast<uint8_t>(bytes[4 + 4 * d + b]);
    shape.push_back(n);
    count *= n;
  }
  const size_t offset = 4 + 4 * static_cast<size_t>(dims);
  check(bytes.size() == offset + static_cast<size_t>(count), "'", path,
        "': ", bytes.size() - offset, " bytes of data, ", count, " expected (truncated?)");
  return torch::from_blob(bytes.data() + offset, shape, torch::kUInt8).clone();
}

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
