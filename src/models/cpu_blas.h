// The Fortran BLAS that libtorch itself loaded (OpenBLAS on Debian), looked up at run time so
// that nothing beyond libtorch is linked, for the models' own CPU products (batched_matmul.cpp,
// strided_attention.cpp). Null where the BLAS is hidden inside libtorch (the MKL of the PyTorch
// wheels); the callers then use libtorch's own operators. Private to src/models.
#pragma once
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <torch/types.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <type_traits>

// libtorch 2.4 replaced the per-device autocast queries with device-type arguments.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ELIT_CPU_AUTOCAST_ENABLED() at::autocast::is_autocast_enabled(at::kCPU)
#else
#define ELIT_CPU_AUTOCAST_ENABLED() at::autocast::is_cpu_enabled()
#endif

namespace elit::models {

template <typename T>
using GemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const T*,
                        const T*, const int*, const T*, const int*, const T*, T*, const int*);

template <typename T>
GemmFn<T> blas_gemm() {
  static const auto fn = reinterpret_cast<GemmFn<T>>(
      dlsym(RTLD_DEFAULT, std::is_same_v<T, float> ? "sgemm_" : "dgemm_"));
  return fn;
}

// oneDNN's row-major sgemm, where libtorch loaded oneDNN as a shared library (Debian's libtorch
// does; the PyTorch wheels link it hidden). Its JIT kernels ran this project's float32 linears and
// attention products 15-25% faster than OpenBLAS on AVX-512, and with beta = 0 it writes the
// output without a separate zeroing pass. ELIT_DNNL_GEMM=off keeps every product on the BLAS.
using DnnlSgemmFn = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t,
                            const float*, int64_t, float, float*, int64_t);

inline DnnlSgemmFn dnnl_sgemm() {
  static const auto fn = [] {
    const char* v = std::getenv("ELIT_DNNL_GEMM");
    if (v && std::string(v) == "off") return DnnlSgemmFn{nullptr};
    return reinterpret_cast<DnnlSgemmFn>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
  }();
  return fn;
}

// Products below this many multiply-adds stay on the BLAS: oneDNN's per-call cost made 16x64x16
// and 64x64x64 attention products slower there, 128x64x128 ones were faster.
constexpr int64_t kDnnlMinMultiplyAdds = int64_t{1} << 19;

// A column-major gemm with the Fortran BLAS's arguments. Large float products go to oneDNN as
// the row-major product C^T = op(B)^T op(A)^T on the same memory; the rest (and all doubles, so
// the float64 parity path is untouched) to the BLAS.
template <typename T>
void fast_gemm(const char* trans_a, const char* trans_b, const int* m, const int* n, const int* k,
               const T* alpha, const T* a, const int* lda, const T* b, const int* ldb,
               const T* beta, T* c, const int* ldc) {
  if constexpr (std::is_same_v<T, float>) {
    const auto dnnl = dnnl_sgemm();
    if (dnnl && int64_t{*m} * *n * *k >= kDnnlMinMultiplyAdds &&
        dnnl(*trans_b, *trans_a, *n, *m, *k, *alpha, b, *ldb, a, *lda, *beta, c, *ldc) == 0) {
      return;
    }
  }
  blas_gemm<T>()(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// How the last two dims of a matrix view, [..., rows, cols], are handed to a GEMM: 'N' with
// leading dimension stride(-2) when rows are contiguous, 'T' with stride(-1) when columns are,
// or not at all (trans = 0: the caller makes it contiguous and asks again).
struct GemmOperand {
  char trans = 0;
  int64_t ld = 0;
};

inline GemmOperand gemm_operand(const torch::Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  if (t.stride(-1) == 1 && t.stride(-2) >= std::max<int64_t>(1, cols)) return {'N', t.stride(-2)};
  if (t.stride(-2) == 1 && t.stride(-1) >= std::max<int64_t>(1, rows)) return {'T', t.stride(-1)};
  return {};
}

// t itself when gemm_operand takes it, else a contiguous copy; op says how.
inline torch::Tensor gemm_ready(const torch::Tensor& t, GemmOperand& op) {
  op = gemm_operand(t);
  if (op.trans) return t;
  auto c = t.contiguous();
  op = gemm_operand(c);
  return c;
}

// Whether the BLAS has a gemm for `type` (float/double) and the own paths are not switched off
// (ELIT_BATCHED_MATMUL=torch: libtorch's bmm and attention everywhere, for A/B benchmarks).
inline bool has_blas(torch::ScalarType type) {
  static const bool forced_torch = [] {
    const char* v = std::getenv("ELIT_BATCHED_MATMUL");
    return v && std::string(v) == "torch";
  }();
  if (forced_torch) return false;
  if (type == torch::kFloat32) return blas_gemm<float>() != nullptr;
  if (type == torch::kFloat64) return blas_gemm<double>() != nullptr;
  return false;
}

// run(begin, end) over [0, count) matrices: spread over the intra-op threads when there are many
// matrices (each thread's BLAS calls then share the cores with the other's); a short batch of big
// matrices runs in one piece and leaves the threads to the BLAS instead.
template <typename Run>
void for_matrix_ranges(int64_t count, Run run) {
  if (count >= 2 * at::get_num_threads()) {
    at::parallel_for(0, count, 1, run);
  } else {
    run(0, count);
  }
}

// call(i) for each matrix i in [0, count), spread as for_matrix_ranges does.
template <typename Call>
void for_each_matrix(int64_t count, Call call) {
  for_matrix_ranges(count, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) call(i);
  });
}

}  // namespace elit::models
