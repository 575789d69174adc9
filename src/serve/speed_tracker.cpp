#include "elit/serve/speed_tracker.h"

#include <algorithm>
#include <vector>

#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"

namespace elit::serve {

SpeedTracker::SpeedTracker(size_t window) : window_(window) {
  check(window >= 1, "the speed tracker's window must hold at least one forward");
}

void SpeedTracker::observe(double measured_ms, double predicted_ms) {
  if (!(measured_ms > 0) || !(predicted_ms > 0)) return;
  ratios_.push_back(measured_ms / predicted_ms);
  if (ratios_.size() > window_) ratios_.pop_front();
}

double SpeedTracker::scale() const {
  if (ratios_.empty()) return 1.0;
  // Bounded so that a stalled machine cannot make the planner give up on every deadline.
  return std::clamp(median({ratios_.begin(), ratios_.end()}), 0.25, 8.0);
}

}  // namespace elit::serve
