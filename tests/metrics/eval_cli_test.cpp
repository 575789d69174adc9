// The evaluation commands end to end: ref-stats writes a reference batch, eval reads it and writes
// its JSON report; bad input fails with one clear line and a non-zero exit status.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "elit/io/npz.h"
#include "elit/metrics/classifier_training.h"
#include "elit/metrics/reference_batch.h"
#include "elit/runtime/atomic_file.h"
#include "metrics/synthetic_images.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

struct Run {
  int status;
  std::string output;
};

Run run_cli(const std::string& args) {
  const std::string cmd = std::string(ELIT_CLI_PATH) + " " + args + " 2>&1";
  Run r{0, ""};
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  r.status = pclose(pipe);
  return r;
}

TEST(EvalCli, RefStatsThenEvalWritesTheReport) {
  const auto dir = elit::testing::temp_dir("eval_cli");
  ClassifierTrainOptions o;
  o.config.channels1 = 8, o.config.channels2 = 16, o.config.hidden = 32;
  o.epochs = 2, o.batch_size = 25;
  const auto train = testing::bar_images(300, 61);
  auto r = train_classifier(train.images, train.labels, o);
  save_classifier(dir + "/clf.safetensors", r.model);
  io::write_npz(dir + "/real.npz", {{"arr_0", testing::bar_images(200, 62).images}});
  const auto s = testing::bar_images(100, 63);
  io::write_npz(dir + "/samples.npz", {{"arr_0", s.images}, {"arr_1", s.labels}});

  const auto ref = run_cli("-q ref-stats --images " + dir + "/real.npz --features classifier " +
                           dir + "/clf.safetensors --out " + dir + "/ref.npz");
  ASSERT_EQ(ref.status, 0) << ref.output;
  const auto batch = read_reference_batch(dir + "/ref.npz");
  EXPECT_EQ(batch.stats->count, 200);
  EXPECT_EQ(batch.images.size(0), 200);

  const auto ev = run_cli("-q eval --samples " + dir + "/samples.npz --ref " + dir +
                          "/ref.npz --features classifier " + dir +
                          "/clf.safetensors --is-split 50 --json " + dir + "/report.json");
  ASSERT_EQ(ev.status, 0) << ev.output;
  EXPECT_NE(ev.output.find("real-vs-real floor"), std::string::npos) << ev.output;
  const auto j = nlohmann::json::parse(read_file(dir + "/report.json"));
  EXPECT_EQ(j["sample_count"], 100);
  EXPECT_EQ(j["fd"]["reference_count"], 200);
  EXPECT_EQ(j["fd"]["floor_method"], "split-half of the reference images");
  EXPECT_TRUE(j.contains("inception_score"));
  EXPECT_EQ(j["cas"]["skipped"], "no real labelled test data for " + dir + "/ref.npz");
}

TEST(EvalCli, BadInputFailsWithOneClearLine) {
  const auto dir = elit::testing::temp_dir("eval_cli_bad");
  write_file_atomically(dir + "/broken.npz", "PK\x03\x04 not really a zip");
  const auto r = run_cli("eval --samples " + dir + "/broken.npz --ref-dataset fashion-mnist");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("elit: error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("broken.npz"), std::string::npos) << r.output;
  const auto both = run_cli("eval --samples " + dir + "/broken.npz");
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.output.find("exactly one of --ref"), std::string::npos) << both.output;
}

}  // namespace
}  // namespace elit::metrics
