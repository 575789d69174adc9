#include "elit/runtime/timing.h"

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit {

double median(std::vector<double> values) {
  check(!values.empty(), "the median of an empty list of measurements is undefined");
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

double median_seconds(const std::function<void()>& work, int warmup, int repeats) {
  check(repeats >= 1 && warmup >= 0,
        "timing needs at least one repeat and no negative warm-up, got ", repeats, " repeats and ",
        warmup, " warm-up runs");
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    Stopwatch watch;
    work();
    times.push_back(watch.seconds());
  }
  return median(std::move(times));
}

}  // namespace elit
