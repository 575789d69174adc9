// Runs the built `elit` binary with arguments and captures its exit status and output, for tests
// of what a user sees on the command line.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace elit::testing {

struct CliRun {
  int status = -1;     // exit status; -1 when killed by a signal (a crash)
  std::string output;  // stdout and stderr
};

inline CliRun run_elit(const std::string& args) {
  CliRun r;
  const std::string command = std::string(ELIT_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace elit::testing
