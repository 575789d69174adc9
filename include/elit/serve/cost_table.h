// The server's measured cost model: milliseconds of one model forward for every budget and batch
// size it may run, from real forwards on this machine (calibration.h), and what a sampling step
// of a batch costs from it. The planner reasons only from this table.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace elit::serve {

struct CostTable {
  std::vector<double> budgets;          // ascending
  std::vector<int64_t> batch_rows;      // ascending forward batch sizes that were measured
  std::vector<std::vector<double>> ms;  // ms[budget index][rows index], one forward
  std::vector<double> decode_ms;  // [rows index]: decoding that many images (empty: no decoder)

  // One forward of `rows` rows at `budget` (the nearest measured budget at or above it; rows
  // interpolated linearly between measured sizes and extrapolated linearly beyond the largest).
  double forward_ms(double budget, int64_t rows) const;
  // One sampler evaluation of `images` images: CFG runs 2x rows in one forward; cheap CFG /
  // autoguidance add a forward of the images at `guide_budget`.
  double evaluation_ms(double budget, int64_t images, bool cfg,
                       std::optional<double> guide_budget) const;
  // The same table with every time multiplied by `factor` (the planner's view on a machine
  // running slower or faster than when it was measured).
  CostTable scaled(double factor) const;
  // A latent model's decoder on a finished batch of `images` images (0 without a decoder).
  double decode_batch_ms(int64_t images) const;

  nlohmann::json to_json() const;
  // Throws elit::Error naming the key when the JSON is not a table of this shape.
  static CostTable from_json(const nlohmann::json& j);
};

}  // namespace elit::serve
