// The distributed environment as torchrun and Slurm launchers describe it: RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
#pragma once
#include <string>

namespace elit::dist {

struct Environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }

  // Reads the variables; unset means a single process. Throws elit::Error naming the variable
  // for malformed values (non-numbers, rank >= world size, port out of range).
  static Environment from_env();
};

}  // namespace elit::dist
