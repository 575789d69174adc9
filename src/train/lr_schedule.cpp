#include "elit/train/lr_schedule.h"

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit::train {

void LrSchedule::validate() const {
  check(type == "constant" || type == "constant_with_linear_warmup", "unknown lr_scheduler_type '",
        type, "' (expected constant or constant_with_linear_warmup)");
  check(warmup_steps >= 0, "warmup_steps must be >= 0, got ", warmup_steps);
  check(base_lr > 0, "learning_rate must be > 0, got ", base_lr);
}

double LrSchedule::at(int64_t step) const {
  if (type != "constant_with_linear_warmup" || warmup_steps <= 0) return base_lr;
  const double w = static_cast<double>(warmup_steps);
  const double start = 1.0 / w;
  const double progress = static_cast<double>(std::min(step, warmup_steps)) / w;
  return base_lr * (start + (1.0 - start) * progress);
}

}  // namespace elit::train
