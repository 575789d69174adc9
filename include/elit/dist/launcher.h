// `--nproc N`: starts N local ranks of this program (torchrun-style environment), supervises
// them, and stops the others when one fails so that nothing hangs.
#pragma once
#include <string>
#include <vector>

namespace elit::dist {

struct LaunchOptions {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;         // 0: pick a free port
  int threads_per_rank = 0;    // 0: cores / nproc (at least 1)
  double grace_seconds = 5.0;  // after a failure: SIGTERM, then SIGKILL after this
};

// Re-executes /proc/self/exe with `args` (argv without the --nproc flag) once per rank, with
// RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and OMP_NUM_THREADS set. Returns 0 when
// every rank succeeded, else the first failing rank's exit code (128 + signal when killed).
int launch_local_ranks(const LaunchOptions& options, const std::vector<std::string>& args);

// A TCP port that was free a moment ago on 127.0.0.1.
int free_port();

}  // namespace elit::dist
