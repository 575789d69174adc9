#include "support/worker.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace elit::testing {

std::map<std::string, WorkerFn>& workers() {
  static std::map<std::string, WorkerFn> registry;
  return registry;
}

bool run_worker_if_requested(int* exit_code) {
  const char* name = std::getenv("ELIT_TEST_WORKER");
  if (!name || !*name) return false;
  auto it = workers().find(name);
  if (it == workers().end()) {
    std::cerr << "unknown test worker '" << name << "'" << std::endl;
    *exit_code = 99;
    return true;
  }
  try {
    *exit_code = it->second();
  } catch (const std::exception& e) {
    std::cerr << "worker " << name << " threw: " << e.what() << std::endl;
    *exit_code = 98;
  }
  return true;
}

int spawn_worker(const std::string& name, const std::map<std::string, std::string>& env) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  setenv("ELIT_TEST_WORKER", name.c_str(), 1);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  char arg0[] = "elit_test_worker";
  char* argv[] = {arg0, nullptr};
  execv("/proc/self/exe", argv);
  _exit(127);
}

int wait_for(int pid, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace elit::testing
