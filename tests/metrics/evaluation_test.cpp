// The whole evaluation on synthetic data with a quickly trained classifier: every metric present,
// N recorded, worse samples score worse; reference batches; bad sample files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "elit/io/npz.h"
#include "elit/metrics/evaluation.h"
#include "elit/runtime/error.h"
#include "metrics/synthetic_images.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

using elit::testing::error_of;

// One small classifier for the suite (trained once, ~seconds).
const std::string& classifier_file() {
  static const std::string path = [] {
    ClassifierTrainOptions o;
    o.config.channels1 = 8, o.config.channels2 = 16, o.config.hidden = 32;
    o.epochs = 3, o.batch_size = 25, o.lr = 3e-3;
    const auto d = testing::bar_images(500, 11);
    auto r = train_classifier(d.images, d.labels, o);
    const auto p = elit::testing::temp_dir("evaluation_classifier") + "/clf.safetensors";
    save_classifier(p, r.model);
    return p;
  }();
  return path;
}

EvalOptions quick_eval() {
  EvalOptions o;
  o.features = "classifier";
  o.network_file = classifier_file();
  o.is_split_size = 100;
  o.cas_training.config.channels1 = 8, o.cas_training.config.channels2 = 16;
  o.cas_training.config.hidden = 32;
  o.cas_training.epochs = 2, o.cas_training.batch_size = 25;
  return o;
}

RealData synthetic_real() {
  RealData real;
  real.description = "synthetic";
  real.reference.images = testing::bar_images(400, 21).images;
  real.floor_images = testing::bar_images(300, 22).images;
  real.floor_description = "synthetic held-out";
  const auto test = testing::bar_images(200, 23);
  real.test_images = test.images, real.test_labels = test.labels;
  return real;
}

TEST(Evaluation, ReportsEveryMetricWithItsCounts) {
  const auto real = synthetic_real();
  const auto good = testing::bar_images(300, 31);
  std::vector<std::string> stages;
  const auto r = evaluate_samples(good.images, good.labels, real, quick_eval(),
                                  [&](const std::string& s, int64_t, int64_t) {
                                    if (stages.empty() || stages.back() != s) stages.push_back(s);
                                  });
  EXPECT_EQ(r.sample_count, 300);
  EXPECT_EQ(r.fd.count, 300);
  EXPECT_EQ(r.fd.reference_count, 400);
  EXPECT_EQ(r.fd.floor_count, 300);
  EXPECT_EQ(r.fd.floor_method, "synthetic held-out vs reference statistics");
  EXPECT_GE(r.fd.value, 0);
  EXPECT_LT(r.fd.value, 3 * r.fd.floor + 1e-3);  // samples from the real distribution
  ASSERT_TRUE(r.inception_score);
  EXPECT_GT(*r.inception_score, 5);  // 10 balanced, well-separated classes
  EXPECT_GT(r.pr.precision, 0.8);
  EXPECT_GT(r.pr.recall, 0.8);
  EXPECT_EQ(r.pr_reference_count, 400);
  ASSERT_TRUE(r.cas);
  EXPECT_GT(r.cas->accuracy, 0.5);
  EXPECT_FALSE(r.sfid);
  EXPECT_GE(stages.size(), 5u);

  // Samples of a single class: FD and KID grow, recall collapses, IS drops to ~1.
  auto bad = testing::bar_images(300, 32);
  bad.images = bad.images.index_select(0, torch::zeros({300}, torch::kLong));
  const auto w = evaluate_samples(bad.images, torch::Tensor(), real, quick_eval());
  EXPECT_GT(w.fd.value, 10 * r.fd.value);
  EXPECT_GT(w.kid.value, r.kid.value);
  EXPECT_LT(w.pr.recall, 0.2);
  EXPECT_LT(*w.inception_score, 1.5);
  EXPECT_EQ(w.cas_note, "samples have no labels (arr_1)");

  const auto j = nlohmann::json::parse(report_json(r));
  for (const char* key :
       {"fd", "precision", "recall", "kid", "inception_score", "cas", "seconds"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["fd"]["floor_count"], 300);
  EXPECT_NE(report_text(r).find("real-vs-real floor"), std::string::npos);
}

TEST(Evaluation, UsesReferenceFileStatisticsOfTheSameNetworkOnly) {
  const auto dir = elit::testing::temp_dir("evaluation_ref");
  auto net = open_feature_network("classifier", classifier_file());
  const auto images = testing::bar_images(400, 41).images;
  ReferenceBatch b;
  b.images = images.slice(0, 0, 50);
  b.stats = compute_statistics(extract_features(*net, images).features);
  b.feature_network = net->name();
  b.dataset = "synthetic";
  write_reference_batch(dir + "/ref.npz", b);
  const auto back = read_reference_batch(dir + "/ref.npz");
  EXPECT_EQ(back.feature_network, net->name());
  EXPECT_EQ(back.stats->count, 400);
  EXPECT_TRUE(back.images.equal(b.images));
  EXPECT_EQ(io::npz_names(dir + "/ref.npz").front(), "arr_0");

  const auto real = real_data_from_file(dir + "/ref.npz");
  const auto samples = testing::bar_images(100, 42);
  auto r = evaluate_samples(samples.images, samples.labels, real, quick_eval());
  EXPECT_EQ(r.fd.reference_count, 400);  // the file's statistics, not the 50 stored images
  EXPECT_EQ(r.fd.floor_method, "split-half of the reference images");
  EXPECT_EQ(r.pr_reference_count, 50);
  EXPECT_EQ(r.cas_note, "no real labelled test data for " + dir + "/ref.npz");

  // Statistics of another network without images to recompute them: refused.
  b.images = torch::Tensor();
  b.feature_network = "inception:other.pt:00000000";
  write_reference_batch(dir + "/other.npz", b);
  EXPECT_NE(error_of([&] {
              evaluate_samples(samples.images, samples.labels,
                               real_data_from_file(dir + "/other.npz"), quick_eval());
            }).find("do not fit the feature network"),
            std::string::npos);
  // ADM-style file (no network recorded) with statistics of the wrong size: refused too.
  b.feature_network.clear();
  b.stats = compute_statistics(torch::randn({20, 7}, torch::kFloat64));
  write_reference_batch(dir + "/wrong.npz", b);
  EXPECT_NE(error_of([&] {
              evaluate_samples(samples.images, samples.labels,
                               real_data_from_file(dir + "/wrong.npz"), quick_eval());
            }).find("7-d statistics but 32-d features"),
            std::string::npos);
}

TEST(Evaluation, RejectsBadSampleFiles) {
  const auto dir = elit::testing::temp_dir("evaluation_bad");
  io::write_npz(dir + "/float.npz", {{"arr_0", torch::rand({4, 28, 28, 1})}});
  EXPECT_NE(error_of([&] { read_samples(dir + "/float.npz"); }).find("must be uint8"),
            std::string::npos);
  io::write_npz(dir + "/noarr.npz", {{"images", torch::zeros({4, 28, 28, 1}, torch::kUInt8)}});
  EXPECT_NE(error_of([&] { read_samples(dir + "/noarr.npz"); }).find("has no arr_0"),
            std::string::npos);
  io::write_npz(dir + "/labels.npz", {{"arr_0", torch::zeros({4, 28, 28, 1}, torch::kUInt8)},
                                      {"arr_1", torch::zeros({3}, torch::kInt64)}});
  EXPECT_NE(error_of([&] { read_samples(dir + "/labels.npz"); }).find("arr_1 (labels)"),
            std::string::npos);
  io::write_npz(dir + "/shape.npz", {{"arr_0", torch::zeros({4, 28, 28, 2}, torch::kUInt8)}});
  EXPECT_NE(error_of([&] { read_samples(dir + "/shape.npz"); }).find("C = 1 or 3"),
            std::string::npos);
  // Fewer samples than k + 1 for precision/recall.
  const auto few = testing::bar_images(3, 51);
  EXPECT_NE(error_of([&] {
              evaluate_samples(few.images, few.labels, synthetic_real(), quick_eval());
            }).find("at least 4 samples"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::metrics
