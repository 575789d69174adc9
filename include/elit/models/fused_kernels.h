// One-pass CPU kernels for inference (no autograd) of the elementwise steps around the matrix
// products of a DiT block: LayerNorm + adaLN modulation, tanh GELU, softmax, gated residual.
// libtorch 1.13 needs 2-4 passes over the activations for each (and, in bfloat16, float32 casts
// around each, since its bfloat16 LayerNorm and GELU are 5-20x slower than float32); these read and
// write each value once and compute in float32. Callers check `applies` and keep the libtorch
// expressions for training, float64 (the exact parity path) and other devices; the one exception
// is the tanh GELU, whose forward and backward kernels also make training's GELU (models/mlp.cpp).
#pragma once
#include <torch/types.h>

namespace elit::models::fused {

// On unless ELIT_FUSED_KERNELS=off; switchable for A/B measurements and tests.
void set_enabled(bool on);
bool enabled();

// Whether the kernels can take these tensors: CPU, float32 or bfloat16, no gradient wanted and
// no autocast. Every tensor must satisfy it.
bool applies(std::initializer_list<torch::Tensor> tensors);

// LayerNorm over the last dim without affine parameters, then * (1 + scale) + shift.
// x: [B, ..., D]; shift, scale: [B, D]. Returns a new tensor of x's dtype.
torch::Tensor layer_norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                                  const torch::Tensor& scale, double eps);

// x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (= tanh GELU), in place. With a bias [n] (n the
// last dim of x), gelu(x + bias): the bias of the linear that produced x, added here instead of
// in a pass of its own.
void gelu_tanh_(torch::Tensor& x, const torch::Tensor& bias = {});

// The same GELU into a new tensor, and its backward, grad * gelu'(x): the training GELU
// (models/mlp.cpp) makes them an autograd function, one pass each way, where libtorch 1.13's tanh
// GELU and its backward took ~4x longer. Inputs may require gradients (they are read detached).
torch::Tensor gelu_tanh(const torch::Tensor& x);
torch::Tensor gelu_tanh_backward(const torch::Tensor& grad, const torch::Tensor& x);

// Softmax over the last dim, in place (x contiguous).
void softmax_(torch::Tensor& x);

// The same on a raw float32 matrix [rows, n], serially: for callers already inside a parallel
// loop (the attention computes, normalises and uses one score matrix at a time).
void softmax_rows(float* x, int64_t rows, int64_t n);

// x + gate * y with gate [B, D] broadcast over the token dims of x and y ([B, ..., D], equal
// shapes). Returns a new tensor of x's dtype.
torch::Tensor gated_residual(const torch::Tensor& x, const torch::Tensor& gate,
                             const torch::Tensor& y);

// The published RMSNorm (ELIT's cross-attention q/k norm): scale * x / (|x| / sqrt(D) + eps)
// over the last dim D, in float32. x may be a strided view with rows at one stride (a chunk of a
// wider projection). Returns a new contiguous tensor of x's dtype.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& scale, double eps);

// A [rows, cols] bfloat16 matrix with row stride ld into a contiguous float32 one, and back
// (rounded to nearest even); serial, for callers inside a parallel loop.
void bf16_to_float(const at::BFloat16* src, int64_t ld, float* dst, int64_t rows, int64_t cols);
void float_to_bf16(const float* src, at::BFloat16* dst, int64_t ld, int64_t rows, int64_t cols);

}  // namespace elit::models::fused
