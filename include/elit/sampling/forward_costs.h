// What one model forward costs on this machine: FLOPs per batch row (analytic for backbones with
// a formula, measured otherwise) and measured wall time. Shared by `elit budgets`, `elit guidance`
// and the server's calibration.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/sampling/guidance.h"

namespace elit::sampling {

// Wall time of one forward at one budget and batch size over interleaved rounds.
struct ForwardTiming {
  double budget = 1.0;
  int64_t rows = 1;
  double median_s = 0.0;
  double spread = 0.0;  // interquartile range / median over the rounds
  int rounds = 0;
};

class ForwardCosts {
 public:
  // `config`: the model's configuration JSON (decides whether an analytic count exists).
  ForwardCosts(models::DiffusionModel& model, nlohmann::json config);
  // FLOPs of one forward of one sample at a budget (published counting convention; cached).
  int64_t flops(double budget);
  // The same measured over this library's forward (RecordFunction counter; cached).
  int64_t measured_flops(double budget);
  // "analytic" or "measured": where flops() comes from.
  const std::string& source() const { return source_; }
  // Seconds per forward (zeros input, t = 0.5) at every budget and batch size, fairly compared:
  // one warm-up forward per cell before any is timed (so the first cell does not pay the
  // warm-up), then rounds of one forward per cell (machine drift hits every cell alike),
  // continued past `min_rounds` until every cell's spread is at most `target_spread`, for at most
  // `max_rounds`. Indexed [budget][rows]. `on_round(round)` reports progress after each round.
  std::vector<std::vector<ForwardTiming>> time_grid(
      const std::vector<double>& budgets, const std::vector<int64_t>& rows, int min_rounds,
      int max_rounds, double target_spread = 0.1,
      const std::function<void(int round)>& on_round = {});
  // time_grid at one batch size: one timing per budget.
  std::vector<ForwardTiming> time_budgets(const std::vector<double>& budgets, int64_t rows,
                                          int min_rounds, int max_rounds,
                                          double target_spread = 0.1);
  // Median seconds of one guided sampler evaluation at batch 1 (CFG: one 2-row forward;
  // CCFG/autoguidance: two forwards).
  double step_seconds(const GuidanceOptions& guidance, double budget, int repeats);

 private:
  models::DiffusionModel& model_;
  models::ModelSpec spec_;
  nlohmann::json config_;
  std::string source_;
  std::map<double, int64_t> flops_, measured_;
};

// Waits for queued device work (CUDA), so that wall-clock timings are complete.
void synchronize(const torch::Device& device);

}  // namespace elit::sampling
