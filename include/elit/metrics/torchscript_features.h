// Feature networks loaded from TorchScript files (torch::jit::load; nothing is downloaded):
//  - InceptionFeatures: the call interface of NVLabs' inception-2015-12-05.pt, the Inception-v3
//    port used for published FID/sFID/IS numbers:
//      forward(img, return_features=False, use_fp16=False, no_output_bias=False)
//    with img uint8-valued NCHW (3 channels, 0..255; the file resizes and normalises itself).
//  - TorchScriptFeatures: any extractor taking normalised float images, e.g. DINOv2 ViT-L/14 for
//    FDD (dinov2_preprocessing()).
#pragma once
#include <torch/script.h>

#include <array>
#include <optional>

#include "elit/metrics/feature_network.h"

namespace elit::metrics {

class InceptionFeatures : public FeatureNetwork {
 public:
  explicit InceptionFeatures(const std::string& path, const torch::Device& device = torch::kCPU,
                             bool use_fp16 = false);
  std::string name() const override { return name_; }
  bool has_probs() const override { return true; }
  bool has_spatial() const override { return spatial_available_; }
  // features: pool_3 ([B, 2048] for Inception); probs: softmax without the output bias (ADM's IS
  // uses the graph's logits MatMul without the bias); spatial: the first 7 channels of
  // layers.mixed_6.conv, flattened in (H, W, C) order as ADM flattens TensorFlow's NHWC
  // mixed_6/conv.
  FeatureSet extract(const torch::Tensor& images) override;

  // img: uint8 [B, H, W, C] -> [B, 3, H, W] uint8 on the device (grey repeated to 3 channels).
  torch::Tensor network_input(const torch::Tensor& images) const;
  // The full layers.mixed_6.conv output [B, C, H', W'] (sFID keeps channels 0..6).
  torch::Tensor mixed_6_conv(const torch::Tensor& images);
  // forward(img, return_features=false, ..., no_output_bias): the file's own probabilities.
  torch::Tensor probabilities(const torch::Tensor& images, bool no_output_bias);

 private:
  torch::Tensor preprocessed(const torch::Tensor& input);  // forward's code before self.layers

  torch::jit::Module module_;
  std::string name_;
  torch::Device device_;
  bool use_fp16_;
  bool spatial_available_ = false;
  std::string spatial_problem_;  // why sFID features are unavailable
  std::shared_ptr<torch::jit::Function> preprocess_;
};

// Preprocessing of an extractor that takes normalised float images.
struct ImagePreprocessing {
  int64_t size = 224;             // resized to size x size; 0 keeps the input size
  bool bicubic_antialias = true;  // false: bilinear without antialiasing
  std::array<double, 3> mean{0.485, 0.456, 0.406};  // after scaling to [0, 1]
  std::array<double, 3> std{0.229, 0.224, 0.225};
};

// DINOv2 as EDM2's FD_DINOv2 feeds it: x / 255, bicubic antialiased resize to 224 x 224, ImageNet
// mean/std; the model returns the CLS token embedding (1024-d for ViT-L/14).
ImagePreprocessing dinov2_preprocessing();

// uint8 [B, H, W, C] -> float32 [B, 3, S, S] (grey repeated to 3 channels).
torch::Tensor preprocess_images(const torch::Tensor& images, const ImagePreprocessing& p);

class TorchScriptFeatures : public FeatureNetwork {
 public:
  TorchScriptFeatures(const std::string& path, ImagePreprocessing preprocessing,
                      const torch::Device& device = torch::kCPU, std::string kind = "torchscript");
  std::string name() const override { return name_; }
  bool has_probs() const override { return false; }
  bool has_spatial() const override { return false; }
  // forward(x) -> [B, D], or [B, T, D] of which token 0 (the CLS token) is kept.
  FeatureSet extract(const torch::Tensor& images) override;
  int64_t batch_size() const override { return 32; }

 private:
  torch::jit::Module module_;
  ImagePreprocessing preprocessing_;
  std::string name_;
  torch::Device device_;
};

// A file's identity for FeatureNetwork::name(): "<kind>:<file name>:<crc32 of its bytes>".
std::string network_identity(const std::string& kind, const std::string& path);

// torch::jit::load with an elit::Error naming the file (and the TorchScript/libtorch versions
// involved) when it cannot be loaded.
torch::jit::Module load_torchscript(const std::string& path, const torch::Device& device);

}  // namespace elit::metrics
