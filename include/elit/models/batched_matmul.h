// Batched matrix products [batch, m, k] @ [batch, k, n] that stay fast for many tiny matrices.
//
// libtorch 1.x's CPU bmm makes one BLAS call per matrix (after three tensor selects) once a
// product has at least 400 multiply-adds. ELIT's grouped Read/Write attention multiplies
// thousands of 4x4..16x16 matrices per forward, where that per-matrix overhead was ~90% of the
// attention time (profiled: 175k selects per training step of the small Fashion-MNIST model).
// Float/double CPU products run here as one BLAS call per matrix instead (the BLAS libtorch
// loaded, found at run time), spread over the threads, with transposed operands passed to the
// BLAS rather than copied: 3-20x faster on the group-attention shapes, never slower on the
// self-attention ones (bench/batched_matmul_bench.cpp). Everything else (bf16/fp16, autocast,
// CUDA, a BLAS hidden inside libtorch) goes to torch::bmm. Differentiable (the backward uses
// itself).
#pragma once
#include <torch/types.h>

namespace elit::models {

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

// Whether batched_matmul uses its own CPU path (per-matrix BLAS) rather than torch::bmm
// for these operands (exposed for tests and benchmarks).
bool uses_own_cpu_path(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace elit::models
