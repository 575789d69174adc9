// GoogleTest main: fast BLAS kernels and both cores, as the elit tool uses them.
#include <gtest/gtest.h>

#include "elit/runtime/cpu.h"
#include "support/worker.h"

int main(int argc, char** argv) {
  elit::ensure_fast_cpu_runtime(argc, argv);
  elit::set_threads(0);
  int worker_exit = 0;
  if (elit::testing::run_worker_if_requested(&worker_exit)) return worker_exit;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
