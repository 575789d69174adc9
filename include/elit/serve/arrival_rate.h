// How fast requests arrive now: the rate over the last few submissions (refused ones included:
// the offered load, not what was admitted). The elastic planner leaves room for the arrivals it
// expects at this rate, so that under sustained load it does not spend on the budget of the
// running requests the capacity that the next arrivals will need.
#pragma once
#include <chrono>
#include <cstddef>
#include <deque>

namespace elit::serve {

class ArrivalRate {
 public:
  using Clock = std::chrono::steady_clock;
  // The rate is taken over the last `window` arrivals no older than `max_age_s`.
  explicit ArrivalRate(double max_age_s = 10.0, size_t window = 32);
  void observe(Clock::time_point at);
  // Arrivals per second as seen at `now`: the arrivals in the window over the time from the
  // oldest of them to now, so that the rate falls when arrivals stop. 0 with fewer than two.
  double per_second(Clock::time_point now) const;

 private:
  size_t window_;
  double max_age_s_;
  std::deque<Clock::time_point> times_;
};

}  // namespace elit::serve
