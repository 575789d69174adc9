// timm Mlp: fc1 -> GELU (tanh approximation, as every published block uses) -> fc2.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace elit::models {

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias = true);
  // x: [..., in] -> [..., out]
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace elit::models
