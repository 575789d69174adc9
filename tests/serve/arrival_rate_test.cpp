// The arrival rate the elastic planner plans with: arrivals per second over the latest ones,
// falling when arrivals stop and forgetting arrivals older than its age limit.
#include "elit/serve/arrival_rate.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"

namespace elit::serve {
namespace {

using Clock = ArrivalRate::Clock;

Clock::time_point at(double s) {
  return Clock::time_point() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1000.0 + s));
}

TEST(ArrivalRate, NoneOrOneArrivalIsNoRate) {
  ArrivalRate rate;
  EXPECT_DOUBLE_EQ(rate.per_second(at(0)), 0.0);
  rate.observe(at(0));
  EXPECT_DOUBLE_EQ(rate.per_second(at(0.1)), 0.0);
}

TEST(ArrivalRate, SteadyArrivalsGiveTheirRateAndItFallsWhenTheyStop) {
  ArrivalRate rate(10.0, 16);
  for (int i = 0; i < 40; ++i) rate.observe(at(0.1 * i));  // 10 per second; the last 16 count
  EXPECT_NEAR(rate.per_second(at(3.9 + 0.1)), 10.0, 1e-6);
  EXPECT_LT(rate.per_second(at(3.9 + 1.0)), 7.0);          // a second without arrivals
  EXPECT_DOUBLE_EQ(rate.per_second(at(3.9 + 20.0)), 0.0);  // all older than 10 s
}

TEST(ArrivalRate, ABurstRaisesItAtOnce) {
  ArrivalRate rate(10.0, 16);
  for (int i = 0; i < 16; ++i) rate.observe(at(1.0 * i));  // 1 per second
  const double before = rate.per_second(at(16.0));
  for (int i = 0; i < 8; ++i) rate.observe(at(16.0 + 0.01 * i));  // 8 within 80 ms
  EXPECT_GT(rate.per_second(at(16.1)), 1.5 * before);
  EXPECT_THROW(ArrivalRate(10.0, 1), Error);
  EXPECT_THROW(ArrivalRate(0.0, 16), Error);
}

}  // namespace
}  // namespace elit::serve
