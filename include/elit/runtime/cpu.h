// CPU runtime settings that decide whether libtorch runs at the machine's speed.
#pragma once
#include <string>

namespace elit {

// Sets libtorch's intra-op thread count (Debian's libtorch defaults to 1 thread). n <= 0 uses
// OMP_NUM_THREADS when set (the --nproc launcher splits the cores that way), else every core.
void set_threads(int n);
int available_cores();

// OpenBLAS picks its kernels from the CPU model; on some virtual machines it misdetects an
// AVX-512 CPU as an ancient core ("Prescott") and float32 matmuls run ~50x slower. OpenBLAS reads
// OPENBLAS_CORETYPE only at load time, so when the kernels are wrong and the variable is unset,
// this re-executes the program with the right core type (once). Call first thing in main().
void ensure_fast_blas(int argc, char** argv);

// The BLAS core OpenBLAS runs with ("SkylakeX", ...), or "" when the BLAS is not OpenBLAS.
std::string blas_core_name();

}  // namespace elit
