// Wall-clock timing: one stopwatch and one median for every measurement in the project (sampling
// cost tables, `elit bench`, the CLI's latency reports), so that every figure is taken the same
// way.
#pragma once
#include <chrono>
#include <functional>
#include <vector>

namespace elit {

// Seconds since construction (or the last restart) on the monotonic clock.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void restart() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// The median of `values` (the upper one of the two middle values for an even count). Throws
// elit::Error for an empty list.
double median(std::vector<double> values);

// Median wall time of `work` in seconds over `repeats` runs after `warmup` unmeasured runs.
double median_seconds(const std::function<void()>& work, int warmup, int repeats);

}  // namespace elit
