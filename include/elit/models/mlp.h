// timm Mlp: fc1 -> GELU -> fc2. The published SiT/ELIT blocks use the tanh approximation; U-ViT
// (baofff/U-ViT libs/timm.py Mlp with nn.GELU) uses the exact erf GELU.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace elit::models {

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias = true,
          bool tanh_gelu = true);
  // x: [..., in] -> [..., out]
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  bool tanh_gelu;
};
TORCH_MODULE(Mlp);

}  // namespace elit::models
