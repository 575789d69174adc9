// nn::Linear applied to [..., in] through one 2-D product: libtorch 1.x runs a linear on inputs
// of three or more dims as matmul then a separate in-place bias add (one more pass over the
// output); on the flattened rows it is a single addmm, with the bias added inside the GEMM.
#pragma once
#include <torch/nn/modules/linear.h>

namespace elit::models {

inline torch::Tensor flat_linear(torch::nn::Linear& linear, const torch::Tensor& x) {
  if (x.dim() <= 2) return linear(x);
  auto sizes = x.sizes().vec();
  auto y = linear(x.reshape({-1, sizes.back()}));
  sizes.back() = y.size(1);
  return y.view(sizes);
}

}  // namespace elit::models
