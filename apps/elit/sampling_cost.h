// Cost measurements shared by `elit budgets` and `elit guidance`: FLOPs per forward row (analytic
// for backbones that have a formula, measured otherwise) and latency of single forwards.
#pragma once
#include <map>
#include <optional>

#include "sampling_flags.h"

namespace elit::app {

class ForwardCosts {
 public:
  explicit ForwardCosts(const LoadedModel& model);
  // FLOPs of one forward of one sample at a budget (published counting convention; cached).
  int64_t flops(double budget);
  // The same measured over this library's forward (RecordFunction counter; cached).
  int64_t measured_flops(double budget);
  // "analytic" or "measured": where flops() comes from.
  const std::string& source() const { return source_; }
  // Median seconds of one forward at batch `rows` (zeros input, t = 0.5).
  double forward_seconds(double budget, int64_t rows, int repeats);
  // Median seconds of one guided sampler evaluation at batch 1 (CFG: one 2-row forward;
  // CCFG/autoguidance: two forwards).
  double step_seconds(const sampling::GuidanceOptions& guidance, double budget, int repeats);

 private:
  const LoadedModel& m_;
  std::string source_;
  std::map<double, int64_t> flops_, measured_;
};

// Waits for queued device work (CUDA), so that wall-clock timings are complete.
void synchronize(const torch::Device& device);

}  // namespace elit::app
