// CPU runtime settings that decide whether libtorch runs at the machine's speed.
#pragma once
#include <string>

namespace elit {

// Sets libtorch's intra-op thread count (Debian's libtorch defaults to 1 thread). n <= 0 uses
// OMP_NUM_THREADS when set (the --nproc launcher splits the cores that way), else every core.
void set_threads(int n);
int available_cores();

// Environment that libraries read only when they load, fixed by re-executing the program once
// (call first thing in main(); ELIT_NO_REEXEC=1 disables it):
// - OpenBLAS picks its kernels from the CPU model; on some virtual machines it misdetects an
//   AVX-512 CPU as an ancient core ("Prescott") and float32 matmuls run ~50x slower. When the
//   kernels are wrong and OPENBLAS_CORETYPE is unset, it is set to the right core type.
// - libgomp's idle worker threads spin instead of sleeping; when anything else competes for the
//   cores, two threads then run 10-40x slower than one (measured). OMP_WAIT_POLICY defaults to
//   PASSIVE unless the user set it.
// It also calls keep_freed_memory().
void ensure_fast_cpu_runtime(int argc, char** argv);

// Tunes glibc malloc so that freed activation tensors (up to 32 MB each) stay in the process for
// the next forward instead of going back to the kernel and being page-faulted in again.
void keep_freed_memory();

// The BLAS core OpenBLAS runs with ("SkylakeX", ...), or "" when the BLAS is not OpenBLAS.
std::string blas_core_name();

}  // namespace elit
