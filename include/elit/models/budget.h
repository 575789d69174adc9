// Budgets: how many latents of every group survive tail dropping.
//
// Published rule (elit_utils/masking_strategies.py): a group of T = g*g latents keeps its first
// int(T * (1 - mask_prob)) latents. An inference budget b in (0, 1] means mask_prob = 1 - b; a
// budget b > 1 is an absolute latent count over the N latents of the image, mask_prob = 1 - b/N.
// The arithmetic below is the published one, in double, so that every budget keeps exactly the
// count the published code keeps (e.g. 0.1 with T = 4 keeps 0 and is refused, as published).
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace elit::models {

// Tokens per group T (g*g), groups G, total tokens N = G*T.
struct GroupLayout {
  int64_t grid_h = 0, grid_w = 0;  // token grid
  int64_t group = 1;               // g
  int64_t tokens_per_group() const { return group * group; }
  int64_t groups() const { return (grid_h / group) * (grid_w / group); }
  int64_t tokens() const { return grid_h * grid_w; }
};

// Latents kept per group for a published mask probability (fraction dropped).
int64_t keep_from_mask_prob(double mask_prob, int64_t tokens_per_group);

// Latents kept per group for an inference budget. Throws elit::Error for NaN, <= 0, a count
// larger than N, a non-integer count > 1, or a budget that keeps no latent in a group.
int64_t keep_from_budget(double budget, int64_t tokens_per_group, int64_t total_tokens);

// The distinct budgets a model can run at: k/T for k = 1..T, ascending (each nudged up by at
// most a few ulps where needed so that it keeps exactly k latents under the published rule).
std::vector<double> valid_budgets(int64_t tokens_per_group);

// The mask probabilities training draws from (multiples of 1/T in [min, max], published
// MultiOrderedTokenMaskingStrategy). `max` unset means up to 1 - 1/T; `min` unset means `max`.
std::vector<double> training_mask_levels(std::optional<double> min_mask_prob,
                                         std::optional<double> max_mask_prob,
                                         int64_t tokens_per_group);

// The budgets training draws from: one per mask level above, in the same order, each the valid
// budget that keeps the level's published count. Training speaks budgets from here on, so a
// forward converts a budget into kept latents once, whether it trains or samples. Throws
// elit::Error for a level that keeps no latent (the published code asserts).
std::vector<double> training_budgets(std::optional<double> min_mask_prob,
                                     std::optional<double> max_mask_prob, int64_t tokens_per_group);

// Draws one training budget per step, uniformly over the levels (published default
// sampling_prob). Seeded and deterministic; one draw is shared by the whole batch (and, in
// distributed training, broadcast from rank 0).
class BudgetSampler {
 public:
  BudgetSampler(std::vector<double> budgets, uint64_t seed);
  // Returns the budget for the next step.
  double next();
  const std::vector<double>& levels() const { return levels_; }
  // Generator state for checkpoints (resume reproduces the same draws).
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::vector<double> levels_;
  std::mt19937_64 rng_;
};

}  // namespace elit::models
