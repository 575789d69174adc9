#include "distributed.h"

#include <csignal>
#include <cstdlib>

#include "cli_common.h"
#include "elit/dist/environment.h"
#include "elit/dist/launcher.h"
#include "elit/runtime/error.h"

namespace elit::app {
namespace {

std::vector<std::string>& command_line() {
  static std::vector<std::string> args;
  return args;
}

// The command line without "--nproc N" / "--nproc=N".
std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

void ignore_interrupt(int) {}

}  // namespace

void DistributedFlags::add_to(CLI::App& cmd, double default_timeout_s) {
  timeout_s = default_timeout_s;
  cmd.add_option("--nproc", nproc,
                 "start this many local processes (ranks) on the c10d Gloo backend, cores/N "
                 "threads each; under torchrun or srun (RANK, WORLD_SIZE, MASTER_ADDR, "
                 "MASTER_PORT set) leave it out")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd.add_option("--dist-timeout", timeout_s,
                 "seconds a rank waits for the rendezvous or a collective before it stops with "
                 "an error (a dead or hung peer)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

bool DistributedFlags::launching() const {
  if (nproc <= 1) return false;
  const auto env = dist::Environment::from_env();
  check(!env.distributed(), "--nproc ", nproc, " given, but this process is already rank ",
        env.rank, " of WORLD_SIZE=", env.world_size,
        " (started by torchrun/srun): leave out --nproc");
  return true;
}

std::chrono::milliseconds DistributedFlags::timeout() const {
  return std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
}

void remember_command_line(int argc, char** argv) {
  command_line().assign(argv, argv + argc);
}

void launch_ranks(const DistributedFlags& flags, const std::vector<std::string>& extra_args) {
  check(!command_line().empty(), "internal: the command line was not remembered");
  auto args = without_nproc(command_line());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  dist::LaunchOptions o;
  o.nproc = flags.nproc;
  // Ctrl-C reaches every rank (same process group): they stop, this process waits for them.
  // A handler, not SIG_IGN, so that the ranks start with the default action.
  std::signal(SIGINT, ignore_interrupt);
  note("starting " + std::to_string(flags.nproc) + " ranks");
  const int code = dist::launch_local_ranks(o, args);
  std::signal(SIGINT, SIG_DFL);
  if (code != 0) throw CLI::RuntimeError(code);
}

int environment_rank() {
  return dist::Environment::from_env().rank;
}

}  // namespace elit::app
