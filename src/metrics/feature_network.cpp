#include "elit/metrics/feature_network.h"

#include <filesystem>

#include "elit/metrics/classifier.h"
#include "elit/metrics/classifier_training.h"
#include "elit/metrics/torchscript_features.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

torch::Tensor rows(const torch::Tensor& t, int64_t begin, int64_t end) {
  return t.defined() ? t.slice(0, begin, end) : t;
}

torch::Tensor concat(const std::vector<torch::Tensor>& parts) {
  if (parts.empty() || !parts.front().defined()) return {};
  return torch::cat(parts, 0);
}

}  // namespace

FeatureSet FeatureSet::slice(int64_t begin, int64_t end) const {
  return {rows(features, begin, end), rows(probs, begin, end), rows(spatial, begin, end)};
}

torch::Tensor as_nhwc_images(const torch::Tensor& images, const std::string& origin) {
  check(images.defined(), origin, ": no images");
  check(images.scalar_type() == torch::kUInt8, origin, ": images must be uint8 (0..255, the ",
        "published sample convention), got ", c10::toString(images.scalar_type()));
  auto x = images.dim() == 3 ? images.unsqueeze(3) : images;
  check(x.dim() == 4 && (x.size(3) == 1 || x.size(3) == 3), origin,
        ": images must be [N, H, W, C] with C = 1 or 3 (or [N, H, W]), got shape ", images.sizes());
  check(x.size(1) > 0 && x.size(2) > 0, origin, ": empty images of shape ", images.sizes());
  return x;
}

FeatureSet extract_features(FeatureNetwork& net, const torch::Tensor& images, int64_t batch_size,
                            const ProgressCallback& progress) {
  const auto x = as_nhwc_images(images, "images for " + net.name());
  const int64_t n = x.size(0), batch = batch_size > 0 ? batch_size : net.batch_size();
  std::vector<torch::Tensor> features, probs, spatial;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(begin + batch, n);
    auto out = net.extract(x.slice(0, begin, end));
    features.push_back(out.features);
    probs.push_back(out.probs);
    spatial.push_back(out.spatial);
    if (progress) progress(end, n);
  }
  return {concat(features), concat(probs), concat(spatial)};
}

std::unique_ptr<FeatureNetwork> open_feature_network(const std::string& kind,
                                                     const std::string& file,
                                                     const torch::Device& device) {
  check(!file.empty() || kind == "default", "feature network '", kind, "' needs a file");
  if (kind == "default" || kind == "classifier") {
    const auto path = file.empty() ? default_classifier_path() : file;
    check(std::filesystem::exists(path), "classifier '", path, "' does not exist; train it with ",
          "'elit train-classifier --out ", path, "'");
    auto loaded = load_classifier(path, device);
    return std::make_unique<ClassifierFeatures>(loaded.model, network_identity("classifier", path),
                                                device);
  }
  if (kind == "inception") return std::make_unique<InceptionFeatures>(file, device);
  if (kind == "dinov2") {
    return std::make_unique<TorchScriptFeatures>(file, dinov2_preprocessing(), device, "dinov2");
  }
  if (kind == "torchscript") {
    ImagePreprocessing p;
    p.size = 0;  // as given; mean/std still ImageNet's
    return std::make_unique<TorchScriptFeatures>(file, p, device, "torchscript");
  }
  fail("unknown feature network '", kind,
       "' (expected default, classifier, inception, dinov2 or torchscript)");
}

}  // namespace elit::metrics
