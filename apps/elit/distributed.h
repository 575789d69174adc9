// `--nproc N` and `--dist-timeout SECONDS` for the commands that run on several processes
// (train, sample, bench train). The launching process re-executes its own command line without
// --nproc once per rank (torchrun-style environment); a rank (or a process started by torchrun
// or srun) finds WORLD_SIZE > 1 in its environment and joins the c10d group.
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace elit::app {

struct DistributedFlags {
  int nproc = 1;
  double timeout_s = 300;

  // `default_timeout_s`: how long a collective or the rendezvous may wait for a peer.
  void add_to(CLI::App& cmd, double default_timeout_s);
  // True in the process that must start the ranks (--nproc N > 1). Throws elit::Error when the
  // environment already describes a distributed run (--nproc under torchrun/srun).
  bool launching() const;
  std::chrono::milliseconds timeout() const;
};

// main() keeps the command line so that --nproc can re-execute it.
void remember_command_line(int argc, char** argv);

// Starts flags.nproc local ranks running this command line without --nproc (plus `extra_args`),
// with cores / nproc threads each, and waits. A failing rank stops the others; its exit code is
// then this process's (CLI::RuntimeError).
void launch_ranks(const DistributedFlags& flags, const std::vector<std::string>& extra_args = {});

// The rank of this process in its environment (0 outside a distributed run); ranks other than 0
// print no progress (--quiet).
int environment_rank();

}  // namespace elit::app
