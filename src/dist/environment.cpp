#include "elit/dist/environment.h"

#include <cstdlib>
#include <string>

#include "elit/runtime/error.h"

namespace elit::dist {
namespace {

int int_var(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  check(end && *end == '\0' && value >= lo && value <= hi, "environment variable ", name, "='", v,
        "' must be an integer in [", lo, ", ", hi, "]");
  return static_cast<int>(value);
}

}  // namespace

Environment Environment::from_env() {
  Environment e;
  e.world_size = int_var("WORLD_SIZE", 1, 1, 1 << 20);
  e.rank = int_var("RANK", 0, 0, e.world_size - 1);
  e.local_rank = int_var("LOCAL_RANK", e.rank, 0, e.world_size - 1);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) e.master_addr = addr;
  e.master_port = int_var("MASTER_PORT", 29500, 1, 65535);
  if (e.world_size > 1) {
    check(std::getenv("RANK") != nullptr, "WORLD_SIZE=", e.world_size,
          " but RANK is not set (start ranks with torchrun, srun or `--nproc N`)");
  }
  return e;
}

}  // namespace elit::dist
