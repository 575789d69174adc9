// nn::Linear applied to [..., in] through one 2-D product: libtorch 1.x runs a linear on inputs
// of three or more dims as matmul then a separate in-place bias add (one more pass over the
// output); on the flattened rows it is a single addmm, with the bias added inside the GEMM.
#pragma once
#include <torch/nn/modules/linear.h>

namespace elit::models {

// linear(x) for x of [rows, in]. Float32 CPU products run through oneDNN's sgemm where libtorch
// loaded oneDNN (see src/models/cpu_blas.h), training's backward products too: the output is
// filled with the bias once and the GEMM accumulates onto it. Everything else is linear(x).
// add_bias = false returns x W^T only, for a caller that adds the bias in a pass it makes anyway
// (the GEMM then writes its output directly, without a first pass that fills it).
torch::Tensor linear_rows(torch::nn::Linear& linear, const torch::Tensor& x, bool add_bias = true);

inline torch::Tensor flat_linear(torch::nn::Linear& linear, const torch::Tensor& x,
                                 bool add_bias = true) {
  if (x.dim() <= 2) return linear_rows(linear, x, add_bias);
  auto sizes = x.sizes().vec();
  auto y = linear_rows(linear, x.reshape({-1, sizes.back()}), add_bias);
  sizes.back() = y.size(1);
  return y.view(sizes);
}

}  // namespace elit::models
