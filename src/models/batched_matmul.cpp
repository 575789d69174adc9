#include "elit/models/batched_matmul.h"

#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

#include "cpu_blas.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace {

// One BLAS call per matrix (for_each_matrix). Row-major C = A B is computed as column-major
// C^T = B^T A^T.
template <typename T>
void blas_matmul(GemmFn<T> gemm, const torch::Tensor& a_in, const torch::Tensor& b_in,
                 torch::Tensor& c) {
  GemmOperand op_a, op_b;
  const auto a = gemm_ready(a_in, op_a), b = gemm_ready(b_in, op_b);
  const int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  const int im = static_cast<int>(m), in = static_cast<int>(n), ik = static_cast<int>(k);
  const int lda = static_cast<int>(op_a.ld), ldb = static_cast<int>(op_b.ld), ldc = in;
  const T one = 1, zero = 0;
  const T* A = a.data_ptr<T>();
  const T* B = b.data_ptr<T>();
  T* C = c.data_ptr<T>();
  const int64_t sa = a.stride(0), sb = b.stride(0), sc = m * n;
  for_each_matrix(batch, [&](int64_t s) {
    gemm(&op_b.trans, &op_a.trans, &in, &im, &ik, &one, B + s * sb, &ldb, A + s * sa, &lda, &zero,
         C + s * sc, &ldc);
  });
}

bool fits_blas_ints(const torch::Tensor& a, const torch::Tensor& b) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  for (const auto& t : {a, b}) {
    for (int64_t d = 0; d < 3; ++d) {
      if (t.size(d) > kMax || t.stride(d) > kMax) return false;
    }
  }
  return true;
}

torch::Tensor cpu_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  // Profilers and FLOP counters see the bmm this replaces.
  RECORD_FUNCTION("aten::bmm", std::vector<c10::IValue>({a, b}));
  auto c = torch::empty({a.size(0), a.size(1), b.size(2)}, a.options());
  if (c.numel() == 0) return c;
  if (a.size(2) == 0) return c.zero_();
  if (a.scalar_type() == torch::kFloat32) {
    blas_matmul<float>(fast_gemm<float>, a, b, c);
  } else {
    blas_matmul<double>(fast_gemm<double>, a, b, c);
  }
  return c;
}

struct CpuMatmul : torch::autograd::Function<CpuMatmul> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return cpu_matmul(a, b);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& grad = grads[0];
    torch::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = batched_matmul(grad, saved[1].transpose(1, 2));
    if (ctx->needs_input_grad(1)) grad_b = batched_matmul(saved[0].transpose(1, 2), grad);
    return {grad_a, grad_b};
  }
};

}  // namespace

bool uses_own_cpu_path(const torch::Tensor& a, const torch::Tensor& b) {
  const auto type = a.scalar_type();
  // Under CPU autocast bmm runs in bfloat16 (oneDNN handles the batch well); keep that.
  if (ELIT_CPU_AUTOCAST_ENABLED() || !a.device().is_cpu() || !b.device().is_cpu() ||
      type != b.scalar_type() || (type != torch::kFloat32 && type != torch::kFloat64)) {
    return false;
  }
  return has_blas(type) && fits_blas_ints(a, b);
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  check(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
        "batched_matmul expects [batch, m, k] and [batch, k, n], got ", a.sizes(), " and ",
        b.sizes());
  if (!uses_own_cpu_path(a, b)) return torch::bmm(a, b);
  return CpuMatmul::apply(a, b);
}

}  // namespace elit::models
