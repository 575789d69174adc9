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
