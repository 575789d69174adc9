#include "elit/models/batched_matmul.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit::models {

namespace {

// Above this many multiply-adds per matrix BLAS wins over the loop below.
constexpr int64_t kMaxSmallProduct = 8192;

// C[s] = A[s] @ B[s] for contiguous row-major operands; the inner loop runs over a row of B and C
// so that it vectorises. Compiled for AVX-512/AVX2 as well, picked at load time.
template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void small_matmul_rows(
    const T* A, const T* B, T* C, int64_t begin, int64_t end, int64_t m, int64_t k, int64_t n) {
  for (int64_t s = begin; s < end; ++s) {
    const T* a = A + s * m * k;
    const T* b = B + s * k * n;
    T* c = C + s * m * n;
    for (int64_t i = 0; i < m; ++i) {
      T* ci = c + i * n;
      std::fill(ci, ci + n, T(0));
      for (int64_t p = 0; p < k; ++p) {
        const T aip = a[i * k + p];
        const T* bp = b + p * n;
        for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
      }
    }
  }
}

// The same product from B^T (Bt[s] is [n, k]) as dot products over k, for narrow outputs (small
// n, e.g. attention scores over a few keys) where a row of C is too short to vectorise. Eight
// partial sums let the compiler vectorise the reduction without reassociating by itself.
template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void small_matmul_dots(
    const T* A, const T* Bt, T* C, int64_t begin, int64_t end, int64_t m, int64_t k, int64_t n) {
  constexpr int kLanes = 8;
  for (int64_t s = begin; s < end; ++s) {
    const T* a = A + s * m * k;
    const T* bt = Bt + s * n * k;
    T* c = C + s * m * n;
    for (int64_t i = 0; i < m; ++i) {
      const T* ai = a + i * k;
      for (int64_t j = 0; j < n; ++j) {
        const T* bj = bt + j * k;
        T partial[kLanes] = {};
        int64_t p = 0;
        for (; p + kLanes <= k; p += kLanes) {
          for (int u = 0; u < kLanes; ++u) partial[u] += ai[p + u] * bj[p + u];
        }
        T sum = 0;
        for (int u = 0; u < kLanes; ++u) sum += partial[u];
        for (; p < k; ++p) sum += ai[p] * bj[p];
        c[i * n + j] = sum;
      }
    }
  }
}

// Outputs narrower than this use the dot-product loop.
constexpr int64_t kNarrowOutput = 16;

torch::Tensor small_matmul(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  const int64_t batch = a_in.size(0), m = a_in.size(1), k = a_in.size(2), n = b_in.size(2);
  const bool dots = n <= kNarrowOutput && k >= 8;
  auto a = a_in.contiguous();
  auto b = dots ? b_in.transpose(1, 2).contiguous() : b_in.contiguous();
  auto c = torch::empty({batch, m, n}, a.options());
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, m * k * n));
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "small_matmul", [&] {
    const scalar_t* A = a.data_ptr<scalar_t>();
    const scalar_t* B = b.data_ptr<scalar_t>();
    scalar_t* C = c.data_ptr<scalar_t>();
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
      if (dots) {
        small_matmul_dots<scalar_t>(A, B, C, begin, end, m, k, n);
      } else {
        small_matmul_rows<scalar_t>(A, B, C, begin, end, m, k, n);
      }
    });
  });
  return c;
}

struct SmallMatmul : torch::autograd::Function<SmallMatmul> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return small_matmul(a, b);
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

bool uses_small_matrix_kernel(const torch::Tensor& a, const torch::Tensor& b) {
  const auto type = a.scalar_type();
  // Under CPU autocast bmm runs in bfloat16 (oneDNN handles the batch well); keep that.
  return !at::autocast::is_cpu_enabled() && a.device().is_cpu() && b.device().is_cpu() &&
         type == b.scalar_type() && (type == torch::kFloat32 || type == torch::kFloat64) &&
         a.size(1) * a.size(2) * b.size(2) <= kMaxSmallProduct;
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  check(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
        "batched_matmul expects [batch, m, k] and [batch, k, n], got ", a.sizes(), " and ",
        b.sizes());
  if (!uses_small_matrix_kernel(a, b)) return torch::bmm(a, b);
  return SmallMatmul::apply(a, b);
}

}  // namespace elit::models
