#include "elit/serve/arrival_rate.h"

#include "elit/runtime/error.h"

namespace elit::serve {

ArrivalRate::ArrivalRate(double max_age_s, size_t window) : window_(window), max_age_s_(max_age_s) {
  check(window >= 2 && max_age_s > 0, "the arrival rate needs a window of at least two arrivals ",
        "and a positive age, got ", window, " and ", max_age_s);
}

void ArrivalRate::observe(Clock::time_point at) {
  times_.push_back(at);
  if (times_.size() > window_) times_.pop_front();
}

double ArrivalRate::per_second(Clock::time_point now) const {
  size_t first = 0;  // the oldest arrival still young enough
  while (first < times_.size() &&
         std::chrono::duration<double>(now - times_[first]).count() > max_age_s_)
    ++first;
  const size_t n = times_.size() - first;
  if (n < 2) return 0.0;
  const double span = std::chrono::duration<double>(now - times_[first]).count();
  // n - 1 gaps between the n arrivals and the gap still open at `now`: for Poisson arrivals the
  // open one is a whole gap on average (memoryless), so the span averages n gaps.
  return span > 0 ? static_cast<double>(n) / span : 0.0;
}

}  // namespace elit::serve
