#include "elit/runtime/cpu.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <cstdlib>
#include <cstring>
#include <thread>

namespace elit {

int available_cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_threads(int n) {
  if (n <= 0) {
    // A launcher that splits the cores between ranks says how many this process gets.
    const char* omp = std::getenv("OMP_NUM_THREADS");
    n = omp && std::atoi(omp) > 0 ? std::atoi(omp) : available_cores();
  }
  at::set_num_threads(n);
#ifdef _OPENMP
  // Where libtorch carries its own OpenMP runtime (the PyTorch wheels' bundled libgomp), elit's
  // parallel loops run on the system one: give both the same count.
  omp_set_num_threads(n);
#endif
}

std::string blas_core_name() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return "";
  const char* name = fn();
  return name ? name : "";
}

namespace {

// The OPENBLAS_CORETYPE that fixes a misdetected CPU, or nullptr when OpenBLAS chose well.
const char* blas_core_fix() {
  const std::string core = blas_core_name();
  // Cores older than Haswell have no FMA; a CPU that has it was misdetected.
  const bool old_core = core == "Prescott" || core == "Core2" || core == "Penryn" ||
                        core == "Dunnington" || core == "Nehalem" || core == "Atom" ||
                        core == "Unknown";
  if (core.empty() || !old_core) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SKYLAKEX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "HASWELL";
  return nullptr;
}

}  // namespace

void keep_freed_memory() {
  // glibc serves blocks above a (dynamic) threshold with fresh mmaps and returns them on free,
  // so every activation tensor of a forward costs page faults and zeroing by the kernel (~5% of
  // an ELIT-SiT-S/2 forward in perf). Blocks up to 32 MB (the largest allowed) now come from
  // the heap, which keeps up to 1 GB of freed memory for the next forward.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void ensure_fast_cpu_runtime(int argc, char** argv) {
  keep_freed_memory();
  if (std::getenv("ELIT_NO_REEXEC") || argc < 1) return;
  bool changed = false;
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    if (const char* target = blas_core_fix()) {
      setenv("OPENBLAS_CORETYPE", target, /*overwrite=*/1);
      changed = true;
    }
  }
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/1);
    changed = true;
  }
  // Both variables are read when the libraries load, hence the re-execution (once: both are set
  // now). execv returns only on failure: then carry on with the defaults.
  if (changed) execv("/proc/self/exe", argv);
}

}  // namespace elit
