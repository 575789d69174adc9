// Calibration: the server's cost table measured from real forwards at start-up, at every budget
// and batch size it may run, cached per model and machine so that a restart is quick. The cache
// entry is keyed by everything that changes the timings (model identity and configuration,
// dtype, device, thread count, CPU model); any change re-measures.
#pragma once
#include <functional>
#include <string>

#include "elit/sampling/forward_costs.h"
#include "elit/serve/cost_table.h"

namespace elit::serve {

struct CalibrationOptions {
  std::string model_identity;  // e.g. the weights path + size + mtime
  std::string cache_dir;       // "" = no cache
  int64_t max_rows = 16;       // largest forward batch (max batch images x 2 for CFG)
  // Rounds of one forward per cell at least (median); up to 4x as many for a spread <= 10%.
  int repeats = 5;
  // A latent model's decoder run on `images` images (its identity belongs in model_identity);
  // unset: the samples are the images and nothing is decoded.
  std::function<void(int64_t images)> decode;
};

// What the table was measured on: the cache key's parts (JSON) for a model.
nlohmann::json calibration_key(models::DiffusionModel& model, const nlohmann::json& config,
                               const std::vector<double>& budgets,
                               const CalibrationOptions& options);

// Measures (or loads from the cache) the forward time of every budget at batch sizes 1, 2, 4,
// ... up to max_rows, in interleaved rounds over all of them, and the decoder's time at those
// sizes when there is one. `on_progress(done, total)` reports progress while measuring (rounds,
// then decoder sizes).
CostTable calibrate(sampling::ForwardCosts& costs, models::DiffusionModel& model,
                    const nlohmann::json& config, const std::vector<double>& budgets,
                    const CalibrationOptions& options, bool* from_cache = nullptr,
                    const std::function<void(int64_t, int64_t)>& on_progress = {});

// The batch sizes calibration measures: powers of two below max_rows, then max_rows.
std::vector<int64_t> calibration_rows(int64_t max_rows);
// The total that calibrate's progress counts to: the most rounds, then the decoder's sizes.
int64_t calibration_progress_total(const CalibrationOptions& options);

}  // namespace elit::serve
