// The project's default feature network for Fashion-MNIST: a small CNN classifier trained by
// `elit train-classifier`. Its penultimate layer (128-d, after ReLU, like Inception's pool_3)
// gives the features for FD, precision/recall and KID; its logits give IS and CAS.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "elit/metrics/feature_network.h"

namespace elit::metrics {

struct ClassifierConfig {
  int64_t image_size = 28;  // inputs are brought to this size (centre crop or resize)
  int64_t channels1 = 32, channels2 = 64;
  int64_t hidden = 128;  // the feature size
  int64_t classes = 10;
};

// conv3x3(1->c1)+BN+ReLU, maxpool 2 -> conv3x3(c1->c2)+BN+ReLU, maxpool 2 -> linear(->hidden),
// ReLU (features) -> linear(->classes) (logits).
class FashionClassifierImpl : public torch::nn::Module {
 public:
  explicit FashionClassifierImpl(const ClassifierConfig& config = {});
  // x: [B, 1, S, S] in [-1, 1] -> [B, hidden]
  torch::Tensor features(const torch::Tensor& x);
  // features [B, hidden] -> logits [B, classes]
  torch::Tensor logits(const torch::Tensor& features);
  // x: [B, 1, S, S] -> logits [B, classes]
  torch::Tensor forward(const torch::Tensor& x) { return logits(features(x)); }
  const ClassifierConfig& config() const { return config_; }

 private:
  ClassifierConfig config_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FashionClassifier);

// uint8 images [B, H, W, C] (or [B, H, W]) -> float [B, 1, S, S] in [-1, 1], S = image_size:
// RGB is averaged to grey; images at least S wide are centre-cropped (undoing the -1 padding of
// data::to_model_space exactly), smaller ones bilinearly resized.
torch::Tensor classifier_input(const torch::Tensor& images, int64_t image_size = 28);

// Weights + configuration (+ free-form metadata such as the test accuracy) in one safetensors.
void save_classifier(const std::string& path, FashionClassifier& model,
                     std::map<std::string, std::string> metadata = {});
struct LoadedClassifier {
  FashionClassifier model{nullptr};
  std::map<std::string, std::string> metadata;
};
LoadedClassifier load_classifier(const std::string& path,
                                 const torch::Device& device = torch::kCPU);

// The classifier as a FeatureNetwork (eval mode, no gradients). `name` identifies the weights.
class ClassifierFeatures : public FeatureNetwork {
 public:
  ClassifierFeatures(FashionClassifier model, std::string name,
                     const torch::Device& device = torch::kCPU);
  std::string name() const override { return name_; }
  bool has_probs() const override { return true; }
  bool has_spatial() const override { return false; }
  FeatureSet extract(const torch::Tensor& images) override;
  int64_t batch_size() const override { return 500; }

 private:
  FashionClassifier model_;
  std::string name_;
  torch::Device device_;
};

}  // namespace elit::metrics
