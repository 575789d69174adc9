// Named sampling settings (`elit sample --preset NAME`), so that a user who wants the most images
// per second at a given quality need not know the knobs. Each preset names the sampler, the steps,
// the budget schedule, cheap CFG's guiding budget (used when guidance is on), the TeaCache
// threshold and the compute dtype; they were chosen by measurement on the main job's model (FD
// against images/s, docs/sampling.md, which lists the same values: a test keeps the two in step).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elit::sampling {

struct SamplingPreset {
  std::string name;
  std::string summary;
  std::string sampler = "euler";  // euler | heun | sde
  int64_t steps = 50;
  std::string budget = "1";             // BudgetSchedule text
  std::optional<double> uncond_budget;  // cheap CFG's guiding budget; unset = plain CFG
  double teacache = 0.0;                // TeaCache threshold; 0 = off
  std::string dtype = "float32";
};

// quality, balanced, fast.
const std::vector<SamplingPreset>& sampling_presets();
// Throws elit::Error listing the presets for an unknown name.
const SamplingPreset& sampling_preset(const std::string& name);

}  // namespace elit::sampling
