// Multi-process tests: the test binary re-executes itself as a "worker" (ELIT_TEST_WORKER=<name>)
// that runs a registered function instead of the tests and exits with its return value. Used for
// c10d process groups and the --nproc launcher.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace elit::testing {

using WorkerFn = std::function<int()>;
std::map<std::string, WorkerFn>& workers();

struct RegisterWorker {
  RegisterWorker(const std::string& name, WorkerFn fn) { workers()[name] = std::move(fn); }
};

// Runs the worker named by ELIT_TEST_WORKER when set; returns true if it did (with its exit code).
bool run_worker_if_requested(int* exit_code);

// Starts this binary as worker `name` with extra environment variables; returns the pid.
int spawn_worker(const std::string& name, const std::map<std::string, std::string>& env);
// Starts `program` with `argv` (argv[0] included) and extra environment variables, stdout and
// stderr to `output_path` (inherited when empty); returns the pid.
int spawn_process(const std::string& program, const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env,
                  const std::string& output_path = "");
// Waits for a pid; returns its exit code (128 + signal if killed), or -1 after `timeout_s`.
int wait_for(int pid, double timeout_s);

}  // namespace elit::testing

#define ELIT_TEST_WORKER(name)                                                      \
  static int name##_worker();                                                       \
  static ::elit::testing::RegisterWorker name##_registration(#name, name##_worker); \
  static int name##_worker()
