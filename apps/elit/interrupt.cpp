#include "interrupt.h"

#include <atomic>
#include <csignal>

#include "elit/runtime/error.h"

namespace elit::app {
namespace {

std::atomic<int> g_signal{0};  // the signal that asked to stop (0: none)

void on_signal(int signal) {
  g_signal = signal;
  std::signal(SIGINT, SIG_DFL);  // a second one ends the process at once
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

StopOnSignal::StopOnSignal() {
  g_signal = 0;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

bool StopOnSignal::requested() const {
  return g_signal.load() != 0;
}

void StopOnSignal::throw_if_requested(const std::string& what) const {
  const int signal = g_signal.load();
  if (signal != 0)
    fail("interrupted by ", signal == SIGINT ? "SIGINT" : "SIGTERM", " (", what, ")");
}

}  // namespace elit::app
