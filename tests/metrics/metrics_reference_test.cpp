// Every value of reference/metrics/metrics.json (computed by the ADM evaluator's numpy/scipy code)
// from the inputs in metrics_vectors.safetensors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "elit/io/safetensors.h"
#include "elit/metrics/frechet_distance.h"
#include "elit/metrics/inception_score.h"
#include "elit/metrics/kid.h"
#include "elit/metrics/precision_recall.h"
#include "elit/metrics/statistics.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

struct MetricsReference {
  nlohmann::json values;
  io::TensorMap t;
};

MetricsReference load(const std::string& dir) {
  std::ifstream in(dir + "/metrics/metrics.json");
  MetricsReference r;
  r.values = nlohmann::json::parse(in).at("values");
  r.t = io::read_safetensors(dir + "/metrics/metrics_vectors.safetensors").tensors;
  return r;
}

double rel(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-300);
}

TEST(MetricsReference, StatisticsMatchNumpy) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto r = load(dir);
  for (const char* set : {"real", "fake"}) {
    const auto s = compute_statistics(r.t.at(std::string("output.features_") + set));
    EXPECT_LT(testing::max_rel_error(s.mu, r.t.at(std::string("output.mu_") + set)), 1e-12);
    EXPECT_LT(testing::max_rel_error(s.sigma, r.t.at(std::string("output.sigma_") + set)), 1e-12);
  }
}

TEST(MetricsReference, FrechetDistance) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto r = load(dir);
  const Statistics real{r.t.at("output.mu_real"), r.t.at("output.sigma_real"), 600};
  const Statistics fake{r.t.at("output.mu_fake"), r.t.at("output.sigma_fake"), 500};
  const double expected = r.values.at("fd").get<double>();
  EXPECT_LT(rel(frechet_distance(real, fake), expected), 1e-6);
  EXPECT_LT(rel(frechet_distance(fake, real), expected), 1e-6);
  // From the features through the accumulated statistics too.
  const auto fd = frechet_distance(compute_statistics(r.t.at("output.features_real")),
                                   compute_statistics(r.t.at("output.features_fake")));
  EXPECT_LT(rel(fd, expected), 1e-6);
  // ADM gives round-off (-6.8e-13) for identical statistics; so must we.
  EXPECT_NEAR(frechet_distance(real, real), r.values.at("fd_self").get<double>(), 1e-9);
}

TEST(MetricsReference, InceptionScore) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto r = load(dir);
  const double expected = r.values.at("inception_score_split100").get<double>();
  EXPECT_LT(rel(inception_score(r.t.at("output.probs"), 100), expected), 1e-9);
  // The probabilities are the softmax of the logits.
  EXPECT_LT(rel(inception_score(torch::softmax(r.t.at("output.logits"), 1), 100), expected), 1e-9);
}

TEST(MetricsReference, PrecisionRecall) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto r = load(dir);
  const auto& real = r.t.at("output.features_real");
  const auto& fake = r.t.at("output.features_fake");
  for (int64_t block : {4096, 128, 7}) {  // blocking must not change the result
    ManifoldOptions o;
    o.row_batch = block, o.col_batch = block + 3;
    const auto pr = precision_recall(real, fake, o);
    EXPECT_NEAR(pr.precision, r.values.at("precision_k3").get<double>(), 1e-9) << block;
    EXPECT_NEAR(pr.recall, r.values.at("recall_k3").get<double>(), 1e-9) << block;
  }
}

TEST(MetricsReference, KidUnbiasedFullSets) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto r = load(dir);
  const double expected = r.values.at("kid_unbiased_full").get<double>();
  const auto& real = r.t.at("output.features_real");
  const auto& fake = r.t.at("output.features_fake");
  EXPECT_LT(rel(kernel_inception_distance(real, fake).value, expected), 1e-9);
  EXPECT_LT(rel(mmd2_unbiased(real, fake, /*block=*/37), expected), 1e-9);
}

}  // namespace
}  // namespace elit::metrics
