// Spearman's rank correlation: ties share their mean rank (scipy's "average"), monotone relations
// give +-1, and without ties it equals 1 - 6 sum(d^2) / (n (n^2 - 1)).
#include "elit/metrics/spearman.h"

#include <gtest/gtest.h>

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

TEST(Spearman, TiesShareTheirMeanRank) {
  const auto r = average_ranks(torch::tensor({10., 20., 20., 5., 20.}));
  EXPECT_TRUE(torch::equal(r, torch::tensor({2., 4., 4., 1., 4.}, torch::kFloat64))) << r;
}

TEST(Spearman, MonotoneRelationsAndTheClosedForm) {
  torch::manual_seed(0);
  const auto x = torch::randn({50}, torch::kFloat64);
  EXPECT_NEAR(spearman_correlation(x, x.exp()), 1.0, 1e-12);  // monotone, not linear
  EXPECT_NEAR(spearman_correlation(x, -x.pow(3)), -1.0, 1e-12);
  const auto y = x + torch::randn({50}, torch::kFloat64);
  const auto d = average_ranks(x) - average_ranks(y);
  const double n = 50;
  const double closed = 1.0 - 6.0 * (d * d).sum().item<double>() / (n * (n * n - 1));
  EXPECT_NEAR(spearman_correlation(x, y), closed, 1e-12);
  EXPECT_GT(spearman_correlation(x, y), 0.3);
  // Independent values: near 0 for many of them.
  const auto a = torch::rand({20000}), b = torch::rand({20000});
  EXPECT_LT(std::abs(spearman_correlation(a, b)), 0.03);
}

TEST(Spearman, RejectsWhatItCannotRank) {
  EXPECT_TRUE(std::isnan(spearman_correlation(torch::ones({4}), torch::rand({4}))));
  EXPECT_THROW(spearman_correlation(torch::rand({4}), torch::rand({5})), Error);
  EXPECT_THROW(spearman_correlation(torch::rand({1}), torch::rand({1})), Error);
  auto with_nan = torch::rand({3}, torch::kFloat64);
  with_nan[1] = std::nan("");
  EXPECT_THROW(spearman_correlation(with_nan, torch::rand({3})), Error);
  EXPECT_THROW(average_ranks(torch::rand({2, 2})), Error);
}

}  // namespace
}  // namespace elit::metrics
