// TeaCache: threshold 0 is the uncached sampler bit for bit; a huge threshold computes only the
// first and last steps; the CFG branches keep separate states; the rescaling fit recovers a known
// polynomial and round-trips through a model file.
#include "elit/sampling/teacache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "elit/io/model_file.h"
#include "elit/models/sit.h"
#include "elit/runtime/error.h"
#include "elit/sampling/sampler.h"
#include "elit/sampling/time_grid.h"
#include "sampling/recording_model.h"
#include "support/tiny_sit.h"

namespace elit::sampling {
namespace {

// A small random SiT (ELIT or plain), 8x8x1, 3 blocks (1 before Read, 1 core, 1 after Write).
models::SiT random_sit(bool elit) {
  auto c = testing::tiny_sampling_sit_config();
  c.depth = 3;
  c.dit_decoder_depth = 1;
  c.num_classes = 4;
  c.enable_elit = elit;
  return testing::random_sit(c);
}

const auto kCondition = models::Condition::from_labels(torch::tensor({1, 3}, torch::kInt64));

torch::Tensor noise() {
  torch::manual_seed(7);
  return torch::randn({2, 1, 8, 8});
}

struct Sampled {
  torch::Tensor x;
  std::shared_ptr<TeaCacheLog> log;
};

Sampled sample(models::SiT& model, SamplerOptions o, std::optional<TeaCacheOptions> cache,
               int64_t steps = 8) {
  o.teacache = cache;
  o.teacache_log = std::make_shared<TeaCacheLog>();
  return {euler_sampler(*model, noise(), kCondition, ode_time_grid(steps), o), o.teacache_log};
}

SamplerOptions guidance(const std::string& mode) {
  SamplerOptions o;
  if (mode == "none") return o;
  o.guidance.scale = 3.0;
  if (mode == "ccfg") o.guidance.uncond_budget = 0.25;
  return o;
}

TEST(TeaCache, ThresholdZeroIsTheUncachedSamplerBitForBit) {
  for (bool elit : {true, false}) {
    auto model = random_sit(elit);
    for (const std::string mode : {"none", "cfg", "ccfg"}) {
      if (!elit && mode == "ccfg") continue;  // cheap CFG needs budgets
      for (auto span : {models::CachedSpan::core, models::CachedSpan::interface}) {
        SCOPED_TRACE(std::string(elit ? "ELIT " : "SiT ") + mode + " " +
                     models::cached_span_name(span));
        auto o = guidance(mode);
        if (elit) o.budget = BudgetSchedule::constant(0.5);
        TeaCacheOptions cache;
        cache.threshold = 0.0;
        cache.span = span;
        const auto plain = sample(model, o, std::nullopt);
        const auto cached = sample(model, o, cache);
        EXPECT_TRUE(torch::equal(plain.x, cached.x));
        EXPECT_EQ(cached.log->skipped(), 0);
        EXPECT_GT(cached.log->evaluations(), 0);
      }
    }
  }
}

TEST(TeaCache, HugeThresholdComputesOnlyTheFirstAndLastSteps) {
  auto model = random_sit(true);
  for (auto span : {models::CachedSpan::core, models::CachedSpan::interface}) {
    TeaCacheOptions cache;
    cache.threshold = 1e9;
    cache.span = span;
    const int64_t steps = 6;
    const auto run = sample(model, guidance("cfg"), cache, steps);
    std::map<int, std::vector<int64_t>> computed;  // branch -> steps that ran the span
    for (const auto& e : run.log->events) {
      if (!e.skipped) computed[e.branch].push_back(e.step);
    }
    EXPECT_EQ(computed[0], (std::vector<int64_t>{0, steps - 1}));
    EXPECT_EQ(computed[1], (std::vector<int64_t>{0, steps - 1}));
    EXPECT_EQ(run.log->evaluations(), 2 * steps);
    EXPECT_EQ(run.log->skipped(), 2 * (steps - 2));
    // Reusing stale residuals changes the result, but it stays a finite sample.
    EXPECT_TRUE(torch::isfinite(run.x).all().item<bool>());
    EXPECT_FALSE(torch::equal(run.x, sample(model, guidance("cfg"), std::nullopt, steps).x));
  }
}

TEST(TeaCache, ModerateThresholdSkipsSomeStepsAndStaysClose) {
  auto model = random_sit(true);
  // A threshold of ~2.5 typical step changes (uncalibrated: the raw change accumulates), so that
  // roughly every other step may be skipped.
  TeaCacheOptions record;
  record.record = true;
  const auto recorded = sample(model, guidance("none"), record, 20);
  double mean_change = 0;
  for (const auto& o : recorded.log->observations) mean_change += o.signal_change;
  mean_change /= static_cast<double>(recorded.log->observations.size());
  TeaCacheOptions cache;
  cache.threshold = 2.5 * mean_change;
  const auto plain = sample(model, guidance("none"), std::nullopt, 20);
  const auto cached = sample(model, guidance("none"), cache, 20);
  EXPECT_GT(cached.log->skipped(), 0);
  EXPECT_LT(cached.log->skipped(), 18);
  const double error = relative_l1(cached.x, plain.x);
  EXPECT_LT(error, 0.1) << "skipped " << cached.log->skipped();
}

// A span whose output is its input times two, recording which rows it ran.
struct Doubling {
  std::vector<std::pair<int64_t, int64_t>> ran;
  models::SpanCache::Compute fn() {
    return [this](int64_t begin, int64_t count, const torch::Tensor& in) {
      ran.emplace_back(begin, count);
      return in * 2;
    };
  }
};

TEST(TeaCache, CfgBranchesKeepSeparateStates) {
  TeaCacheOptions o;
  o.threshold = 0.5;
  TeaCache cache(o, nullptr);
  Doubling span;
  // Rows [cond (2 rows); guide (2 rows)]. Step 0 always computes both halves together.
  auto input = torch::ones({4, 3});
  auto signal = torch::ones({4, 3});
  cache.begin_step(0, 10);
  auto out = cache.forward({{0, 1.0}, {1, 1.0}}).run(signal, input, span.fn());
  EXPECT_TRUE(torch::equal(out, input * 2));
  ASSERT_EQ(span.ran.size(), 1u);
  EXPECT_EQ(span.ran[0], (std::pair<int64_t, int64_t>{0, 4}));
  // Step 1: the conditional half's signal is unchanged (skip), the guiding half's doubled
  // (relative change 1 > 0.5: compute). Only rows [2, 4) run; rows [0, 2) reuse the residual.
  span.ran.clear();
  cache.begin_step(1, 10);
  auto signal1 = signal.clone();
  signal1.narrow(0, 2, 2).mul_(2);
  auto input1 = torch::full({4, 3}, 3.0);
  out = cache.forward({{0, 1.0}, {1, 1.0}}).run(signal1, input1, span.fn());
  ASSERT_EQ(span.ran.size(), 1u);
  EXPECT_EQ(span.ran[0], (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_TRUE(torch::allclose(out.narrow(0, 0, 2), torch::full({2, 3}, 3.0 + 1.0)));  // 3 + (2-1)
  EXPECT_TRUE(torch::allclose(out.narrow(0, 2, 2), torch::full({2, 3}, 6.0)));
  // A different budget never reuses a residual from another budget.
  span.ran.clear();
  cache.begin_step(2, 10);
  cache.forward({{0, 0.5}}).run(signal1.narrow(0, 0, 2), input1.narrow(0, 0, 2), span.fn());
  EXPECT_EQ(span.ran.size(), 1u);
}

TEST(TeaCache, FitRecoversAPolynomialAndRoundTripsThroughTheModelFile) {
  std::vector<double> x, y;
  const std::vector<double> truth{3.0, -2.0, 0.5, 1.5, 0.01};
  for (int i = 0; i < 40; ++i) {
    x.push_back(0.01 * i);
    y.push_back(evaluate_polynomial(truth, x.back()));
  }
  const auto fit = fit_rescale_polynomial(x, y, 4);
  ASSERT_EQ(fit.coefficients.size(), 5u);
  for (size_t i = 0; i < truth.size(); ++i) EXPECT_NEAR(fit.coefficients[i], truth[i], 1e-6);
  EXPECT_NEAR(fit.r2, 1.0, 1e-9);
  EXPECT_THROW(fit_rescale_polynomial({0.1, 0.2}, {0.1, 0.2}, 4), Error);

  TeaCacheCalibration calibration;
  calibration.span = models::CachedSpan::interface;
  calibration.fits.push_back(fit);
  calibration.fits.push_back({0.25, {1.0, 0.0}, 12, 0.5});
  auto model = random_sit(true);
  const auto path =
      (std::filesystem::temp_directory_path() / "elit_teacache_roundtrip.safetensors").string();
  io::write_model_file(path, *model, {{kTeaCacheKey, calibration.to_json().dump()}});
  const auto file = io::read_model_file(path);
  std::filesystem::remove(path);
  const auto back =
      TeaCacheCalibration::from_json(nlohmann::json::parse(file.metadata.at(kTeaCacheKey)), path);
  EXPECT_EQ(back.span, models::CachedSpan::interface);
  ASSERT_EQ(back.fits.size(), 2u);
  EXPECT_EQ(back.fits[0].coefficients, fit.coefficients);
  EXPECT_EQ(back.fits[0].points, 40);
  EXPECT_EQ(back.fit_for(0.3)->budget, 0.25);
  EXPECT_EQ(back.fit_for(0.9)->budget, 1.0);
  // Malformed calibrations name the problem.
  EXPECT_THROW(TeaCacheCalibration::from_json(nlohmann::json{{"span", "core"}}, "f"), Error);
  EXPECT_THROW(
      TeaCacheCalibration::from_json(nlohmann::json::parse(R"({"span":"all","fits":[]})"), "f"),
      Error);
  EXPECT_THROW(
      TeaCacheCalibration::from_json(
          nlohmann::json::parse(R"({"span":"core","fits":[{"budget":1,"coefficients":[]}]})"), "f"),
      Error);
}

TEST(TeaCache, RecordingCollectsStepPairsAndNeverSkips) {
  auto model = random_sit(true);
  TeaCacheOptions cache;
  cache.threshold = 1e9;  // ignored while recording
  cache.record = true;
  const auto run = sample(model, guidance("cfg"), cache, 6);
  EXPECT_EQ(run.log->skipped(), 0);
  // Both branches, every step after the first.
  ASSERT_EQ(run.log->observations.size(), 2u * 5u);
  for (const auto& ob : run.log->observations) {
    EXPECT_GT(ob.signal_change, 0.0);
    EXPECT_GT(ob.output_change, 0.0);
  }
}

TEST(TeaCache, RejectsBadThresholdsAndUnsupportedModels) {
  TeaCacheOptions o;
  o.threshold = -1;
  EXPECT_THROW(o.validate(), Error);
  o.threshold = std::nan("");
  EXPECT_THROW(o.validate(), Error);
  // A family without a cacheable span says so instead of sampling uncached.
  testing::RecordingModel fake;
  SamplerOptions options;
  options.teacache = TeaCacheOptions{};
  EXPECT_THROW(
      euler_sampler(fake, torch::randn({2, 1, 4, 4}), kCondition, ode_time_grid(2), options),
      Error);
}

}  // namespace
}  // namespace elit::sampling
