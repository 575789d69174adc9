#include "support/worker.h"

#include <fcntl.h>
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

int spawn_process(const std::string& program, const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env, const std::string& output_path) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  if (!output_path.empty()) {
    const int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(program.c_str(), args.data());
  _exit(127);
}

int spawn_worker(const std::string& name, const std::map<std::string, std::string>& env) {
  auto all = env;
  all["ELIT_TEST_WORKER"] = name;
  return spawn_process("/proc/self/exe", {"elit_test_worker"}, all);
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
