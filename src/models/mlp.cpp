#include "elit/models/mlp.h"

namespace elit::models {

namespace nn = torch::nn;

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias,
                 bool tanh_gelu)
    : tanh_gelu(tanh_gelu) {
  fc1 = register_module("fc1", nn::Linear(nn::LinearOptions(in_features, hidden_features).bias(bias)));
  fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(hidden_features, out_features).bias(bias)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return fc2(torch::gelu(fc1(x), tanh_gelu ? "tanh" : "none"));
}

}  // namespace elit::models
