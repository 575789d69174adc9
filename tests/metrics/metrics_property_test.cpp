// Properties of the metrics on fresh random data, and clear errors on bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "elit/metrics/frechet_distance.h"
#include "elit/metrics/inception_score.h"
#include "elit/metrics/kid.h"
#include "elit/metrics/precision_recall.h"
#include "elit/metrics/statistics.h"
#include "elit/runtime/error.h"
#include "support/error_of.h"

namespace elit::metrics {
namespace {

using elit::testing::error_of;

torch::Tensor random_features(int64_t n, int64_t d, double shift = 0) {
  // Correlated, non-centred features, so covariances are full.
  const auto mix = torch::randn({d, d}, torch::kFloat64) / std::sqrt(static_cast<double>(d));
  return torch::randn({n, d}, torch::kFloat64).mm(mix) + shift + torch::rand({d}, torch::kFloat64);
}

TEST(Statistics, BatchedAndMergedEqualOnePass) {
  const auto x = random_features(301, 17) * 100 + 1e4;  // large mean: no cancellation allowed
  const auto one = compute_statistics(x);
  StatisticsAccumulator batched, a, b;
  for (int64_t i = 0; i < 301; i += 64) batched.add(x.slice(0, i, i + 64));
  a.add(x.slice(0, 0, 100));
  b.add(x.slice(0, 100));
  a.merge(StatisticsAccumulator::from_packed(b.packed()));  // as if from another rank
  for (const auto& s : {batched.finish(), a.finish()}) {
    EXPECT_EQ(s.count, 301);
    EXPECT_TRUE(torch::allclose(s.mu, one.mu, 1e-13, 0));
    EXPECT_TRUE(torch::allclose(s.sigma, one.sigma, 1e-10, 1e-10));
  }
  // numpy: np.cov(x, rowvar=False) is the N-1 covariance.
  const auto c = x - x.mean(0);
  EXPECT_TRUE(torch::allclose(one.sigma, c.t().mm(c) / 300.0, 1e-10, 1e-8));
}

TEST(FrechetDistance, IdenticalSetsGiveZero) {
  const auto s = compute_statistics(random_features(500, 64));
  EXPECT_NEAR(frechet_distance(s, s), 0.0, 1e-9 * s.sigma.trace().item<double>());
  // Rank-deficient covariance (N < D): the symmetric route stays finite and ~0.
  const auto r = compute_statistics(random_features(20, 64));
  const double fd = frechet_distance(r, r);
  EXPECT_NEAR(fd, 0.0, 1e-8 * r.sigma.trace().item<double>()) << fd;
}

TEST(FrechetDistance, OneDimensionalGaussiansMatchClosedForm) {
  const auto a = compute_statistics(torch::randn({1000, 1}, torch::kFloat64) * 2 + 3);
  const auto b = compute_statistics(torch::randn({800, 1}, torch::kFloat64) * 0.5 - 1);
  const double m1 = a.mu.item<double>(), m2 = b.mu.item<double>();
  const double s1 = std::sqrt(a.sigma.item<double>()), s2 = std::sqrt(b.sigma.item<double>());
  const double closed = (m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2);
  EXPECT_NEAR(frechet_distance(a, b), closed, 1e-12 * closed);
}

TEST(FrechetDistance, CommutingCovariancesMatchClosedForm) {
  // Diagonal covariances: FD = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
  const auto da = torch::rand({8}, torch::kFloat64) + 0.1, db = torch::rand({8}, torch::kFloat64);
  const Statistics a{torch::randn({8}, torch::kFloat64), torch::diag(da), 10};
  const Statistics b{torch::randn({8}, torch::kFloat64), torch::diag(db), 10};
  const double closed = (a.mu - b.mu).square().sum().item<double>() +
                        (da.sqrt() - db.sqrt()).square().sum().item<double>();
  EXPECT_NEAR(frechet_distance(a, b), closed, 1e-12 * closed);
  EXPECT_NEAR(trace_sqrt_product(a.sigma, b.sigma), (da * db).sqrt().sum().item<double>(), 1e-12);
}

TEST(FrechetDistance, RejectsMismatchedSizes) {
  const auto a = compute_statistics(random_features(50, 8));
  const auto b = compute_statistics(random_features(50, 9));
  EXPECT_NE(error_of([&] { frechet_distance(a, b); }).find("feature size mismatch"),
            std::string::npos);
  EXPECT_NE(error_of([&] { compute_statistics(random_features(1, 8)); }).find("at least 2"),
            std::string::npos);
  StatisticsAccumulator acc;
  acc.add(random_features(5, 8));
  EXPECT_NE(error_of([&] { acc.add(random_features(5, 9)); }).find("mismatch"), std::string::npos);
}

TEST(InceptionScore, OneHotUniformClassesGiveTheClassCount) {
  const int64_t classes = 7;
  const auto labels = torch::arange(700, torch::kInt64).remainder(classes);
  const auto probs = torch::one_hot(labels, classes).to(torch::kFloat64);
  EXPECT_NEAR(inception_score(probs, 700), 7.0, 1e-12);
  EXPECT_NEAR(inception_score(probs, 70), 7.0, 1e-12);  // each split still uniform
  // Identical rows carry no information: IS = 1.
  EXPECT_NEAR(inception_score(torch::softmax(torch::randn({1, 5}), 1).repeat({40, 1}), 10), 1.0,
              1e-6);
}

TEST(InceptionScore, UsesConsecutiveSplitsWithAShortLastOne) {
  const auto p = torch::softmax(torch::randn({250, 6}, torch::kFloat64) * 3, 1);
  const double expected =
      (inception_score(p.slice(0, 0, 100), 100) + inception_score(p.slice(0, 100, 200), 100) +
       inception_score(p.slice(0, 200), 100)) /
      3.0;
  EXPECT_NEAR(inception_score(p, 100), expected, 1e-12);
  EXPECT_NE(error_of([&] { inception_score(torch::randn({4}), 2); }).find("[N, C]"),
            std::string::npos);
}

TEST(PrecisionRecall, SetAgainstItselfIsOne) {
  const auto x = random_features(300, 12).to(torch::kFloat32);
  ManifoldOptions o;
  o.row_batch = 64, o.col_batch = 100;
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    o.dtype = dtype;
    const auto pr = precision_recall(x, x, o);
    EXPECT_EQ(pr.precision, 1.0);
    EXPECT_EQ(pr.recall, 1.0);
  }
}

TEST(PrecisionRecall, RadiiAreKthNearestOtherPoint) {
  // Points on a line at 0, 1, 3, 6, 10; e.g. the others seen from 3 are 2, 3, 3, 7 away: the
  // third nearest is 3 away (squared 9).
  const auto x = torch::tensor({0.0, 1.0, 3.0, 6.0, 10.0}, torch::kFloat64).unsqueeze(1);
  ManifoldOptions o;
  o.row_batch = 2, o.col_batch = 2;
  const auto r = manifold_radii(x, o);
  EXPECT_TRUE(r.equal(torch::tensor({36.0, 25.0, 9.0, 25.0, 81.0}, torch::kFloat64)));
  // Disjoint clouds: nothing covered.
  const auto far = precision_recall(x, x + 1000, o);
  EXPECT_EQ(far.precision, 0.0);
  EXPECT_EQ(far.recall, 0.0);
}

TEST(PrecisionRecall, RejectsTooFewSamplesAndMismatchedFeatures) {
  EXPECT_NE(error_of([&] {
              precision_recall(random_features(3, 4), random_features(10, 4));
            }).find("at least 4"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              precision_recall(random_features(10, 4), random_features(10, 5));
            }).find("feature size mismatch"),
            std::string::npos);
  auto bad = random_features(10, 4);
  bad[3][2] = std::nan("");
  EXPECT_NE(error_of([&] { precision_recall(bad, random_features(10, 4)); }).find("NaN"),
            std::string::npos);
}

TEST(Kid, MatchesTheDefinitionAndSubsetsAverage) {
  const auto x = random_features(40, 6), y = random_features(30, 6, 0.5);
  const auto k = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a.mm(b.t()) / 6.0 + 1).pow(3);
  };
  const auto kxx = k(x, x), kyy = k(y, y), kxy = k(x, y);
  const double expected = (kxx.sum() - kxx.trace()).item<double>() / (40 * 39) +
                          (kyy.sum() - kyy.trace()).item<double>() / (30 * 29) -
                          2 * kxy.sum().item<double>() / (40 * 30);
  EXPECT_NEAR(mmd2_unbiased(x, y, 7), expected, 1e-12 * std::abs(expected) + 1e-12);
  KidOptions o;
  o.subsets = 5, o.subset_size = 30;
  const auto a = kernel_inception_distance(x, y, o), b = kernel_inception_distance(x, y, o);
  EXPECT_EQ(a.value, b.value);  // seeded
  EXPECT_GT(a.std, 0);
  o.subset_size = 31;
  EXPECT_NE(error_of([&] { kernel_inception_distance(x, y, o); }).find("subset size"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::metrics
