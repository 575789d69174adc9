// How fast the model runs now against the cost table: the median of the last few forwards'
// measured / predicted times. The planner multiplies the table by it, so that it follows load
// from other processes and the HTTP threads. A median, not a running mean: forwards of a few
// milliseconds are now and then descheduled for tens, and one such outlier must not swing the
// plan (refusals and low budgets at light load), while a sustained slowdown moves the median
// within half a window.
#pragma once
#include <cstddef>
#include <deque>

namespace elit::serve {

class SpeedTracker {
 public:
  explicit SpeedTracker(size_t window = 15);
  // One forward took `measured_ms` where the table predicted `predicted_ms` (ignored unless both
  // are positive).
  void observe(double measured_ms, double predicted_ms);
  // Median measured / predicted over the window, within [0.25, 8]; 1 before any observation.
  double scale() const;

 private:
  size_t window_;
  std::deque<double> ratios_;
};

}  // namespace elit::serve
