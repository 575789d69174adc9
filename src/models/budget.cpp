#include "elit/models/budget.h"

#include <cmath>
#include <sstream>

#include "elit/runtime/error.h"

namespace elit::models {

int64_t keep_from_mask_prob(double mask_prob, int64_t tokens_per_group) {
  // Python: int(tokens_per_group * (1 - mask_prob)), truncation toward zero.
  return static_cast<int64_t>(static_cast<double>(tokens_per_group) * (1.0 - mask_prob));
}

int64_t keep_from_budget(double budget, int64_t tokens_per_group, int64_t total_tokens) {
  check(std::isfinite(budget), "invalid budget ", budget, ": must be a finite number");
  check(budget > 0, "invalid budget ", budget,
        ": must be a fraction in (0, 1] or a latent count in (1, ", total_tokens, "]");
  double mask_prob;
  if (budget > 1) {
    check(budget <= static_cast<double>(total_tokens), "invalid budget ", budget,
          ": the model has ", total_tokens, " latents");
    check(budget == std::floor(budget), "invalid budget ", budget,
          ": a budget above 1 is a latent count and must be an integer");
    mask_prob = 1.0 - budget / static_cast<double>(total_tokens);
  } else {
    mask_prob = 1.0 - budget;
  }
  const int64_t keep = keep_from_mask_prob(mask_prob, tokens_per_group);
  check(keep >= 1, "budget ", budget, " keeps no latent in a group of ", tokens_per_group,
        " (the smallest budget is 1/", tokens_per_group, " = ",
        1.0 / static_cast<double>(tokens_per_group), ")");
  return keep;
}

std::vector<double> valid_budgets(int64_t tokens_per_group) {
  std::vector<double> out;
  for (int64_t k = 1; k <= tokens_per_group; ++k) {
    double b = static_cast<double>(k) / static_cast<double>(tokens_per_group);
    // With the published arithmetic k/T can round just below k latents when T is not a power of
    // two (3/9 keeps 2); step to the nearest double that keeps k, so each listed budget keeps k.
    while (keep_from_mask_prob(1.0 - b, tokens_per_group) < k) b = std::nextafter(b, 2.0);
    out.push_back(b);
  }
  return out;
}

std::vector<double> training_mask_levels(std::optional<double> min_mask_prob,
                                         std::optional<double> max_mask_prob,
                                         int64_t tokens_per_group) {
  const double T = static_cast<double>(tokens_per_group);
  const double max_p = max_mask_prob.value_or(1.0 - 1.0 / T);
  const double min_p = min_mask_prob.value_or(max_p);
  check(min_p <= max_p, "elit_min_mask_prob ", min_p, " exceeds elit_max_mask_prob ", max_p);
  std::vector<double> levels;
  for (int64_t i = 0; i < tokens_per_group; ++i) {
    const double level = static_cast<double>(i) / T;  // numpy: arange(0, T) / T
    if (level >= min_p - 1e-9 && level <= max_p + 1e-9) levels.push_back(level);
  }
  // The published code samples from an empty list and crashes; say why instead.
  check(!levels.empty(), "no valid mask level in [", min_p, ", ", max_p,
        "]: levels are multiples of 1/", tokens_per_group);
  return levels;
}

std::vector<double> training_budgets(std::optional<double> min_mask_prob,
                                     std::optional<double> max_mask_prob,
                                     int64_t tokens_per_group) {
  const auto budgets = valid_budgets(tokens_per_group);
  std::vector<double> out;
  for (const double level : training_mask_levels(min_mask_prob, max_mask_prob, tokens_per_group)) {
    const int64_t keep = keep_from_mask_prob(level, tokens_per_group);
    check(keep >= 1 && keep <= tokens_per_group, "mask probability ", level, " keeps ", keep,
          " of ", tokens_per_group, " latents per group (the published code asserts at least one)");
    out.push_back(budgets[keep - 1]);
  }
  return out;
}

BudgetSampler::BudgetSampler(std::vector<double> budgets, uint64_t seed)
    : levels_(std::move(budgets)), rng_(seed) {
  check(!levels_.empty(), "BudgetSampler needs at least one budget");
}

double BudgetSampler::next() {
  // Uniform over levels; computed by hand because std::uniform_int_distribution's algorithm is
  // implementation-defined and checkpoints must resume identically everywhere.
  const uint64_t n = levels_.size();
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do r = rng_();
  while (r >= limit);
  return levels_[r % n];
}

std::string BudgetSampler::state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void BudgetSampler::set_state(const std::string& state) {
  std::istringstream in(state);
  in >> rng_;
  check(!in.fail(), "corrupt budget sampler state in checkpoint");
}

}  // namespace elit::models
