// What a sampling configuration costs: FLOPs per step and per image from a per-row FLOPs model
// (analytic or measured, as the caller chooses). Wall time is measured with runtime/timing.h.
//
// A step's FLOPs follow the published _velocity_step: outside guidance one conditional row; CFG
// two rows at the step's budget; CCFG / autoguidance one row at the budget plus one at the
// guiding budget. Heun adds the evaluation at the step's end on every step but the last.
#pragma once
#include <functional>

#include "elit/sampling/sampler.h"

namespace elit::sampling {

// FLOPs of one model forward for one sample (batch row) at a budget.
using FlopsPerRow = std::function<int64_t(double budget)>;

// FLOPs of one model evaluation at time t for one image, guidance included.
int64_t evaluation_flops(const GuidanceOptions& guidance, double t, double budget,
                         const FlopsPerRow& flops);

// FLOPs of sampling one image: every evaluation of `kind` on `grid` with the options' budget
// schedule and guidance.
int64_t sampling_flops_per_image(SamplerKind kind, const std::vector<double>& grid,
                                 const SamplerOptions& options, const FlopsPerRow& flops);

}  // namespace elit::sampling
