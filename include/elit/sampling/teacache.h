// TeaCache for the samplers (ali-vilab/TeaCache, as TeaCache4FLUX decides): skip the model's
// cacheable span (models/span_cache.h) on evaluations where its input barely changed, reusing the
// span's last residual.
//   * signal: the first cached block's adaLN-modulated input (ELIT: the kept latents after Read);
//   * every evaluation adds poly(relative L1 change of the signal since the branch's previous
//     evaluation) to the branch's accumulator; while it stays below the threshold the span is
//     skipped (output = input + cached residual); otherwise the span runs, its residual
//     (output - input) is cached and the accumulator is reset;
//   * the first and the last sampler step always compute, and so does an evaluation whose
//     budget or shape differs from the cached residual's;
//   * the conditional and the guiding branch keep separate states; in a batched CFG forward
//     (rows [cond; guide]) each half decides for itself, so the span may run for one half only.
// The polynomial (highest degree first, as np.poly1d) is fitted per model and budget by
// fit_rescale_polynomial() over (signal change, span-output change) pairs recorded by a
// calibration run (`elit teacache calibrate`), and stored in the model file.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/models/span_cache.h"

namespace elit::sampling {

// A fitted rescaling polynomial for one budget.
struct TeaCacheFit {
  double budget = 1.0;
  std::vector<double> coefficients;  // highest degree first; {1, 0} is the identity
  int64_t points = 0;                // step pairs it was fitted on
  double r2 = 0.0;                   // coefficient of determination on those pairs
};

// Metadata key of the fits in a model file.
inline constexpr const char* kTeaCacheKey = "elit.teacache";

struct TeaCacheCalibration {
  models::CachedSpan span = models::CachedSpan::core;
  std::vector<TeaCacheFit> fits;
  nlohmann::json to_json() const;
  // Throws elit::Error naming `where` and the key for anything malformed.
  static TeaCacheCalibration from_json(const nlohmann::json& j, const std::string& where);
  // The fit at the budget nearest to `budget` (nullptr when there is none).
  const TeaCacheFit* fit_for(double budget) const;
};

// The calibration stored under kTeaCacheKey in a model file's metadata (no fits when there is
// none); throws elit::Error naming `where` for a malformed one.
TeaCacheCalibration calibration_from_metadata(const std::map<std::string, std::string>& metadata,
                                              const std::string& where);

struct TeaCacheOptions {
  double threshold = 0.0;  // accumulated rescaled change allowed before the span runs again;
                           // 0 never skips (bit for bit the uncached sampler)
  models::CachedSpan span = models::CachedSpan::core;
  TeaCacheCalibration calibration;  // fits for `span`; without one the raw change is used
  bool record = false;              // calibration run: always compute, record observations
  // Throws elit::Error for a negative or non-finite threshold.
  void validate() const;
  // Threshold and span (empty: the calibration's) with the model file's calibration for that
  // span; the fits are dropped when they were made for the other span.
  static TeaCacheOptions for_model(double threshold, const std::string& span,
                                   const std::map<std::string, std::string>& metadata,
                                   const std::string& where);
  // "threshold 0.1, span core, calibrated at budgets 0.25 1" (or why the raw change is used).
  std::string describe() const;
};

// What one cached evaluation did, for reports and tests.
struct TeaCacheEvent {
  int64_t step = 0;
  int branch = 0;  // 0 conditional, 1 guiding
  double budget = 1.0;
  int64_t rows = 0;
  bool skipped = false;
};

// One recorded step pair (calibration): relative L1 changes since the branch's previous
// evaluation at the same budget.
struct TeaCacheObservation {
  double budget = 1.0;
  double signal_change = 0.0, output_change = 0.0;
};

// Collected over every batch of a run (shared by the per-batch caches).
struct TeaCacheLog {
  std::vector<TeaCacheEvent> events;
  std::vector<TeaCacheObservation> observations;
  int64_t evaluations() const { return static_cast<int64_t>(events.size()); }
  int64_t skipped() const;
};

// What a run's cache did and saved, in the published FLOPs count of the model forwards it saw
// (analytic counts only: SiT / ELIT-SiT; the FLOPs are 0 for other families).
struct TeaCacheSummary {
  int64_t evaluations = 0, skipped = 0;
  double flops = 0, flops_saved = 0;  // all forwards as run without the cache; the skipped spans
  nlohmann::json to_json() const;
};
TeaCacheSummary summarize(const TeaCacheLog& log, const nlohmann::json& model_config,
                          models::CachedSpan span);

// The state of one sampling run (one batch): one per-branch state each for the conditional (0)
// and the guiding (1) branch.
class TeaCache {
 public:
  TeaCache(TeaCacheOptions options, std::shared_ptr<TeaCacheLog> log);
  // Called by the sampler before each step's evaluations.
  void begin_step(int64_t step, int64_t steps);

  // The cache for one model forward whose rows are split evenly over `branches` (e.g. {0} for an
  // unguided step, {0, 1} for batched CFG), each at the budget given with it.
  struct Branch {
    int id = 0;
    double budget = 1.0;
  };
  class Forward : public models::SpanCache {
   public:
    Forward(TeaCache& owner, std::vector<Branch> branches)
        : owner_(owner), branches_(std::move(branches)) {}
    models::CachedSpan span() const override { return owner_.options_.span; }
    torch::Tensor run(const torch::Tensor& signal, const torch::Tensor& input,
                      const Compute& compute) override;

   private:
    TeaCache& owner_;
    std::vector<Branch> branches_;
  };
  Forward forward(std::vector<Branch> branches) { return Forward(*this, std::move(branches)); }

 private:
  struct State {
    torch::Tensor previous_signal, residual, previous_output;
    double residual_budget = 0.0, previous_budget = 0.0;
    double accumulated = 0.0;
  };
  TeaCacheOptions options_;
  std::shared_ptr<TeaCacheLog> log_;
  State states_[2];
  int64_t step_ = 0, steps_ = 1;
};

// Relative L1 change mean|a - b| / mean|b| (TeaCache's distance), in float64.
double relative_l1(const torch::Tensor& a, const torch::Tensor& b);

// Least-squares polynomial of `degree` through (x, y) (np.polyfit): coefficients highest degree
// first, with the fit's R^2. Throws elit::Error with fewer than degree + 1 points.
TeaCacheFit fit_rescale_polynomial(const std::vector<double>& x, const std::vector<double>& y,
                                   int degree = 4);
double evaluate_polynomial(const std::vector<double>& coefficients, double x);

}  // namespace elit::sampling
