// The planner's view of the machine's speed: a median over recent forwards, so that a single
// descheduled forward does not swing it and a sustained slowdown does.
#include "elit/serve/speed_tracker.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"

namespace elit::serve {
namespace {

TEST(SpeedTracker, StartsAtTheTable) {
  EXPECT_DOUBLE_EQ(SpeedTracker().scale(), 1.0);
}

TEST(SpeedTracker, OneStalledForwardDoesNotMoveIt) {
  SpeedTracker speed(15);
  for (int i = 0; i < 15; ++i) speed.observe(11, 10);  // 1.1x the table
  speed.observe(100, 10);                              // descheduled once: 10x
  EXPECT_DOUBLE_EQ(speed.scale(), 1.1);
}

TEST(SpeedTracker, ASustainedSlowdownMovesItWithinHalfAWindow) {
  SpeedTracker speed(15);
  for (int i = 0; i < 15; ++i) speed.observe(10, 10);
  for (int i = 0; i < 7; ++i) speed.observe(20, 10);
  EXPECT_DOUBLE_EQ(speed.scale(), 1.0);  // 8 of 15 still at 1x
  speed.observe(20, 10);
  EXPECT_DOUBLE_EQ(speed.scale(), 2.0);  // now 8 of 15 at 2x
  for (int i = 0; i < 15; ++i) speed.observe(5, 10);
  EXPECT_DOUBLE_EQ(speed.scale(), 0.5);  // and back down: the window forgets
}

TEST(SpeedTracker, IsBoundedAndIgnoresMeaninglessTimes) {
  SpeedTracker speed(3);
  speed.observe(0, 10);
  speed.observe(10, 0);
  speed.observe(-1, 10);
  EXPECT_DOUBLE_EQ(speed.scale(), 1.0);  // nothing counted
  for (int i = 0; i < 3; ++i) speed.observe(1000, 1);
  EXPECT_DOUBLE_EQ(speed.scale(), 8.0);  // a stalled machine: bounded
  for (int i = 0; i < 3; ++i) speed.observe(1, 1000);
  EXPECT_DOUBLE_EQ(speed.scale(), 0.25);
  EXPECT_THROW(SpeedTracker(0), Error);
}

}  // namespace
}  // namespace elit::serve
