// Learning-rate schedules of the published train.py (`lr_scheduler_type`).
//
// constant_with_linear_warmup with warmup_steps W > 0 is torch's SequentialLR of
// LinearLR(start_factor = 1/W, total_iters = W) and ConstantLR(factor 1): the update after s
// earlier updates uses lr * (1/W + (1 - 1/W) * min(s, W) / W), i.e. lr/W for the first update
// and the full lr from update W + 1 on. W = 0 (or "constant") is the constant lr.
#pragma once
#include <cstdint>
#include <string>

namespace elit::train {

struct LrSchedule {
  std::string type = "constant_with_linear_warmup";  // or "constant"
  double base_lr = 1e-4;
  int64_t warmup_steps = 0;

  // The learning rate of the update that follows `step` completed updates (step >= 0).
  double at(int64_t step) const;
  // Throws elit::Error for an unknown type or a negative warmup.
  void validate() const;
};

}  // namespace elit::train
