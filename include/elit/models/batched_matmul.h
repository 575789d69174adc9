// Batched matrix products [batch, m, k] @ [batch, k, n] that stay fast for many tiny matrices.
//
// libtorch 1.x's CPU bmm makes one BLAS call per matrix (after three tensor selects) once a
// product has at least 400 multiply-adds. ELIT's grouped Read/Write attention multiplies
// thousands of 4x4..16x16 matrices per forward, where that per-matrix overhead was ~90% of the
// attention time (profiled: 175k selects per training step of the small Fashion-MNIST model).
// Small float/double CPU products run here in one parallel loop instead; everything else (large
// matrices, bf16/fp16, CUDA) goes to torch::bmm. Differentiable (the backward uses itself).
#pragma once
#include <torch/types.h>

namespace elit::models {

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

// Whether batched_matmul uses its own loop for these shapes (exposed for tests and benchmarks).
bool uses_small_matrix_kernel(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace elit::models
