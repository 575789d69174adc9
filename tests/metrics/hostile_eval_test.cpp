// Evaluation inputs that used to be accepted silently (issue 21): reference statistics that are
// not a covariance or not finite, samples of another size than the reference, tiny images, and
// labels outside the classes. Each is refused before any feature is computed.
#include <gtest/gtest.h>

#include "elit/io/npz.h"
#include "elit/metrics/evaluation.h"
#include "elit/metrics/reference_batch.h"
#include "metrics/synthetic_images.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

using elit::testing::error_of;

std::string stats_file(const std::string& name, const torch::Tensor& mu,
                       const torch::Tensor& sigma) {
  const auto path = elit::testing::temp_dir("hostile_eval") + "/" + name + ".npz";
  io::write_npz(path, {{"mu", mu}, {"sigma", sigma}});
  return path;
}

TEST(HostileEval, ReferenceStatisticsMustBeACovariance) {
  const auto mu = torch::zeros({3}, torch::kFloat64);
  // Symmetric but with a negative eigenvalue: the Frechet distance would come out negative.
  const auto bad =
      stats_file("non_psd", mu, torch::diag(torch::tensor({1.0, -5.0, 2.0}, torch::kFloat64)));
  auto msg = error_of([&] { read_reference_batch(bad); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  EXPECT_NE(msg.find("positive semi-definite"), std::string::npos) << msg;
  auto asym = torch::eye(3, torch::kFloat64);
  asym[0][1] = 0.5;
  msg = error_of([&] { read_reference_batch(stats_file("asym", mu, asym)); });
  EXPECT_NE(msg.find("not symmetric"), std::string::npos) << msg;
  // NaN in the mean: named with the file and the array.
  const auto nan =
      stats_file("nan", torch::full({3}, NAN, torch::kFloat64), torch::eye(3, torch::kFloat64));
  msg = error_of([&] { read_reference_batch(nan); });
  EXPECT_NE(msg.find(nan), std::string::npos) << msg;
  EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
  // A real covariance still reads.
  const auto x = torch::randn({50, 3}, torch::kFloat64);
  const auto good = stats_file("good", x.mean(0), torch::cov(x.t()));
  EXPECT_EQ(error_of([&] { read_reference_batch(good); }), "");
}

RealData bar_reference(int64_t size) {
  RealData real;
  real.description = "bars";
  real.reference.images = testing::bar_images(40, 3, size).images;
  const auto test = testing::bar_images(20, 4, size);
  real.test_images = test.images, real.test_labels = test.labels;
  return real;
}

TEST(HostileEval, SamplesMustFitTheReference) {
  EvalOptions o;
  o.features = "classifier";
  o.network_file = "/no/network/needed/before/the/checks";
  const auto small = torch::zeros({20, 16, 16, 1}, torch::kUInt8);
  auto msg = error_of([&] { evaluate_samples(small, torch::Tensor(), bar_reference(28), o); });
  EXPECT_NE(msg.find("16x16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("28x28"), std::string::npos) << msg;
  const auto tiny = torch::zeros({20, 1, 1, 1}, torch::kUInt8);
  msg = error_of([&] { evaluate_samples(tiny, torch::Tensor(), bar_reference(28), o); });
  EXPECT_NE(msg.find("1x1 images"), std::string::npos) << msg;
  const auto same = testing::bar_images(20, 5, 28);
  auto labels = same.labels.clone();
  labels[3] = 99;
  msg = error_of([&] { evaluate_samples(same.images, labels, bar_reference(28), o); });
  EXPECT_NE(msg.find("go up to 99"), std::string::npos) << msg;
}

TEST(HostileEval, NegativeSampleLabelsAreRefused) {
  const auto path = elit::testing::temp_dir("hostile_eval") + "/neg.npz";
  io::write_npz(path, {{"arr_0", torch::zeros({3, 8, 8, 1}, torch::kUInt8)},
                       {"arr_1", torch::tensor({0, -4, 1}, torch::kInt64)}});
  const auto msg = error_of([&] { read_samples(path); });
  EXPECT_NE(msg.find("found -4"), std::string::npos) << msg;
}

}  // namespace
}  // namespace elit::metrics
