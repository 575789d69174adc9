#include "elit/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "elit/runtime/cpu.h"
#include "elit/runtime/error.h"

namespace elit::dist {
namespace {

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

pid_t spawn_rank(const std::vector<std::string>& args, int rank, const LaunchOptions& o, int port,
                 int threads) {
  const pid_t pid = fork();
  check(pid >= 0, "cannot start rank ", rank, ": fork failed");
  if (pid > 0) return pid;
  // Child: environment as torchrun sets it, then become the program again.
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
  setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::perror("elit: cannot start rank");
  _exit(127);
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  check(ok, "cannot find a free TCP port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

int launch_local_ranks(const LaunchOptions& o, const std::vector<std::string>& args) {
  check(o.nproc >= 1, "--nproc must be >= 1, got ", o.nproc);
  const int port = o.master_port > 0 ? o.master_port : free_port();
  const int threads =
      o.threads_per_rank > 0 ? o.threads_per_rank : std::max(1, available_cores() / o.nproc);
  std::vector<pid_t> pids;
  for (int r = 0; r < o.nproc; ++r) pids.push_back(spawn_rank(args, r, o, port, threads));
  int result = 0;
  int running = o.nproc;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      --running;
      const int code = exit_code(status);
      for (size_t r = 0; r < pids.size(); ++r) {
        if (pids[r] != done) continue;
        pids[r] = -1;
        if (code != 0 && !stopping) {
          std::cerr << "elit: rank " << r << " failed (exit " << code
                    << "); stopping the other ranks" << std::endl;
          result = code;
          stopping = true;
          for (pid_t p : pids) {
            if (p > 0) kill(p, SIGTERM);
          }
          stop_deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(o.grace_seconds * 1000));
        }
      }
      continue;
    }
    if (stopping && std::chrono::steady_clock::now() > stop_deadline) {
      for (pid_t p : pids) {
        if (p > 0) kill(p, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

}  // namespace elit::dist
