#include "elit/metrics/classifier.h"

#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

namespace F = torch::nn::functional;

int64_t meta_int(const std::map<std::string, std::string>& meta, const std::string& key,
                 int64_t fallback, const std::string& path) {
  const auto it = meta.find(key);
  if (it == meta.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    fail("classifier '", path, "': metadata '", key, "' = '", it->second, "' is not an integer");
  }
}

}  // namespace

FashionClassifierImpl::FashionClassifierImpl(const ClassifierConfig& c) : config_(c) {
  check(c.image_size % 4 == 0 && c.image_size > 0, "classifier image_size must be a positive ",
        "multiple of 4 (two 2x poolings), got ", c.image_size);
  using torch::nn::Conv2dOptions;
  conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(1, c.channels1, 3).padding(1)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(c.channels1));
  conv2 = register_module("conv2",
                          torch::nn::Conv2d(Conv2dOptions(c.channels1, c.channels2, 3).padding(1)));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c.channels2));
  const int64_t flat = c.channels2 * (c.image_size / 4) * (c.image_size / 4);
  fc1 = register_module("fc1", torch::nn::Linear(flat, c.hidden));
  fc2 = register_module("fc2", torch::nn::Linear(c.hidden, c.classes));
}

torch::Tensor FashionClassifierImpl::features(const torch::Tensor& x) {
  // x: [B, 1, S, S] -> [B, hidden]
  auto h = F::max_pool2d(torch::relu(bn1(conv1(x))), F::MaxPool2dFuncOptions(2));  // [B,c1,S/2,S/2]
  h = F::max_pool2d(torch::relu(bn2(conv2(h))), F::MaxPool2dFuncOptions(2));       // [B,c2,S/4,S/4]
  return torch::relu(fc1(h.flatten(1)));
}

torch::Tensor FashionClassifierImpl::logits(const torch::Tensor& features) {
  return fc2(features);
}

torch::Tensor classifier_input(const torch::Tensor& images, int64_t size) {
  auto x = as_nhwc_images(images, "classifier input").to(torch::kFloat32);  // [B, H, W, C]
  x = x.mean(3).unsqueeze(1);                                               // [B, 1, H, W]
  const int64_t h = x.size(2), w = x.size(3);
  if (h >= size && w >= size) {
    const int64_t top = (h - size) / 2, left = (w - size) / 2;
    x = x.slice(2, top, top + size).slice(3, left, left + size);
  } else {
    x = torch::upsample_bilinear2d(x, {size, size}, /*align_corners=*/false);
  }
  return x.div(127.5).sub(1.0).contiguous();
}

void save_classifier(const std::string& path, FashionClassifier& model,
                     std::map<std::string, std::string> metadata) {
  io::TensorMap tensors;
  for (const auto& p : model->named_parameters()) tensors[p.key()] = p.value().detach().cpu();
  for (const auto& b : model->named_buffers()) tensors[b.key()] = b.value().detach().cpu();
  const auto& c = model->config();
  metadata["format"] = "elit-fashion-classifier";
  metadata["image_size"] = std::to_string(c.image_size);
  metadata["channels1"] = std::to_string(c.channels1);
  metadata["channels2"] = std::to_string(c.channels2);
  metadata["hidden"] = std::to_string(c.hidden);
  metadata["classes"] = std::to_string(c.classes);
  io::write_safetensors(path, tensors, metadata);
}

LoadedClassifier load_classifier(const std::string& path, const torch::Device& device) {
  auto file = io::read_safetensors(path);
  const auto& meta = file.metadata;
  const auto fmt = meta.find("format");
  check(fmt != meta.end() && fmt->second == "elit-fashion-classifier", "'", path,
        "' is not an elit classifier file (metadata format != elit-fashion-classifier); ",
        "train one with 'elit train-classifier'");
  ClassifierConfig c;
  c.image_size = meta_int(meta, "image_size", c.image_size, path);
  c.channels1 = meta_int(meta, "channels1", c.channels1, path);
  c.channels2 = meta_int(meta, "channels2", c.channels2, path);
  c.hidden = meta_int(meta, "hidden", c.hidden, path);
  c.classes = meta_int(meta, "classes", c.classes, path);
  LoadedClassifier out{FashionClassifier(c), meta};
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& key, torch::Tensor& target) {
    const auto it = file.tensors.find(key);
    check(it != file.tensors.end(), "classifier '", path, "' lacks tensor '", key, "'");
    check(it->second.sizes() == target.sizes(), "classifier '", path, "': tensor '", key,
          "' has shape ", it->second.sizes(), ", expected ", target.sizes());
    target.copy_(it->second);
  };
  for (auto& p : out.model->named_parameters()) assign(p.key(), p.value());
  for (auto& b : out.model->named_buffers()) assign(b.key(), b.value());
  out.model->to(device);
  out.model->eval();
  return out;
}

ClassifierFeatures::ClassifierFeatures(FashionClassifier model, std::string name,
                                       const torch::Device& device)
    : model_(std::move(model)), name_(std::move(name)), device_(device) {
  model_->to(device_);
  model_->eval();
}

FeatureSet ClassifierFeatures::extract(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto x = classifier_input(images, model_->config().image_size).to(device_);
  const auto f = model_->features(x);
  FeatureSet out;
  out.features = f.cpu();
  out.probs = torch::softmax(model_->logits(f).to(torch::kFloat64), 1).cpu();
  return out;
}

}  // namespace elit::metrics
