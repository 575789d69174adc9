// Timing: one median and one stopwatch for every measurement in the project.
#include "elit/runtime/timing.h"

#include <gtest/gtest.h>

#include <thread>

#include "elit/runtime/error.h"

namespace elit {
namespace {

TEST(Timing, MedianIsTheMiddleValueWhateverTheOrder) {
  EXPECT_EQ(median({3.0, 1.0, 2.0}), 2.0);
  EXPECT_EQ(median({5.0, 100.0, 4.0, 6.0}), 6.0);  // even count: the upper middle value
  EXPECT_EQ(median({7.5}), 7.5);
  EXPECT_THROW(median({}), Error);
}

TEST(Timing, MedianSecondsIgnoresWarmupAndOutliers) {
  int calls = 0;
  // The third measured run sleeps 50 ms: an outlier the median must not report.
  const double s = median_seconds(
      [&] {
        if (++calls == 5) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      },
      /*warmup=*/2, /*repeats=*/5);
  EXPECT_EQ(calls, 7);
  EXPECT_GE(s, 0.0);
  EXPECT_LT(s, 0.04);
  EXPECT_THROW(median_seconds([] {}, 0, 0), Error);
}

TEST(Timing, StopwatchCountsElapsedTimeAndRestarts) {
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(watch.seconds(), 0.019);
  watch.restart();
  EXPECT_LT(watch.seconds(), 0.019);
}

}  // namespace
}  // namespace elit
