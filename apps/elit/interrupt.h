// Ctrl-C / SIGTERM as a request to stop at the next safe point (between updates, between
// sampling steps), so that a command can clean up what it half-wrote; a second signal ends the
// process at once. One instance at a time; the default actions come back when it is destroyed.
#pragma once
#include <string>

namespace elit::app {

class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  bool requested() const;
  // Throws elit::Error "interrupted by SIGTERM (<what>)" when a stop was requested.
  void throw_if_requested(const std::string& what) const;
};

}  // namespace elit::app
