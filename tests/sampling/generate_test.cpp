// Batched generation: per-sample seeds make every image independent of the batch it was drawn
// in; bad settings fail before any forward.
#include "elit/sampling/generate.h"

#include <gtest/gtest.h>

#include "elit/io/image.h"
#include "elit/models/sit.h"
#include "elit/runtime/error.h"
#include "elit/sampling/seeds.h"
#include "sampling/recording_model.h"
#include "support/tiny_sit.h"

namespace elit::sampling {
namespace {

// A small random ELIT-SiT (4 groups of 2x2 latents) in float64, so that batch composition
// could only show up as real dependence, not as round-off.
models::SiT tiny_model() {
  auto model = testing::random_sit(testing::tiny_rgb_sit_config(true, /*depth=*/3));
  model->to(torch::kFloat64);
  return model;
}

TEST(Generate, SameSeedsGiveTheSameImagesAtAnyBatchSize) {
  auto model = tiny_model();
  const auto labels = torch::tensor({0, 1, 2, 3, 4, 0, 1}, torch::kInt64);
  const auto cond = models::Condition::from_labels(labels);
  for (auto kind : {SamplerKind::euler, SamplerKind::sde}) {
    GenerateOptions o;
    o.sampler = kind;
    o.steps = 4;
    o.seed = 123;
    o.dtype = torch::kFloat64;
    o.options.guidance.scale = 2.0;
    o.batch_size = 7;
    const auto all = generate(*model, cond, o);
    o.batch_size = 3;
    const auto threes = generate(*model, cond, o);
    o.batch_size = 1;
    const auto ones = generate(*model, cond, o);
    EXPECT_TRUE(torch::allclose(all, threes, 0, 1e-12)) << sampler_name(kind);
    EXPECT_TRUE(torch::allclose(all, ones, 0, 1e-12)) << sampler_name(kind);
    EXPECT_TRUE(torch::equal(io::to_uint8_images(all), io::to_uint8_images(ones)));
    // Sample 5 alone, by its index: the same image as in the full run.
    o.first_index = 5;
    const auto fifth = generate(*model, cond.narrow(5, 1), o);
    EXPECT_TRUE(torch::allclose(fifth, all.narrow(0, 5, 1), 0, 1e-12)) << sampler_name(kind);
    o.first_index = 0;
    // Another seed gives other images.
    o.seed = 124;
    EXPECT_FALSE(torch::allclose(generate(*model, cond, o), all));
  }
}

TEST(Generate, SeedsAreDistinctAcrossIndicesAndRuns) {
  const auto a = initial_noise(7, 0, 4, {1, 4, 4});
  const auto b = initial_noise(7, 2, 2, {1, 4, 4});
  EXPECT_TRUE(torch::equal(a.narrow(0, 2, 2), b));
  EXPECT_FALSE(torch::equal(a[0], a[1]));
  EXPECT_FALSE(torch::equal(initial_noise(8, 0, 1, {1, 4, 4})[0], a[1]));
  EXPECT_NE(sample_seed(0, 1), sample_seed(1, 0));
  EXPECT_NE(sample_seed(0, 0, 0), sample_seed(0, 0, 1));
}

TEST(Generate, BadSettingsFailBeforeAnyForward) {
  testing::RecordingModel model;
  const auto cond = models::Condition::from_labels(torch::tensor({1, 2}, torch::kInt64));
  auto expect_error = [&](GenerateOptions o, const std::string& fragment) {
    try {
      generate(model, cond, o);
      ADD_FAILURE() << "expected an error containing '" << fragment << "'";
    } catch (const elit::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  GenerateOptions o;
  o.steps = 0;
  expect_error(o, "steps");
  o.steps = 2;
  o.batch_size = 0;
  expect_error(o, "batch size");
  o.batch_size = 2;
  o.options.budget = BudgetSchedule::constant(2.5);
  expect_error(o, "integer");
  o.options.budget = BudgetSchedule::parse("1,1,1");
  expect_error(o, "3 budgets but sampling takes 2 steps");
  EXPECT_TRUE(model.calls.empty());
}

TEST(Generate, RankSharesAreWholeBatchesInOrder) {
  for (const int64_t n : {0, 1, 7, 11, 12, 40}) {
    for (const int64_t batch : {1, 3, 5}) {
      for (const int world : {1, 2, 3, 4}) {
        int64_t next = 0;
        for (int r = 0; r < world; ++r) {
          const auto s = rank_share(n, batch, r, world);
          EXPECT_EQ(s.begin, next) << n << " " << batch << " rank " << r << "/" << world;
          EXPECT_LE(s.begin, s.end);
          // Only the last image's batch may be incomplete.
          if (s.end < n) {
            EXPECT_EQ((s.end - s.begin) % batch, 0);
          }
          // Batches are spread evenly: batch counts differ by at most one.
          const auto batches = [&](Share x) { return (x.end - x.begin + batch - 1) / batch; };
          EXPECT_LE(batches(rank_share(n, batch, 0, world)) - batches(s), 1);
          next = s.end;
        }
        EXPECT_EQ(next, n);
      }
    }
  }
  EXPECT_EQ(rank_share(11, 3, 0, 2).end, 6);  // 4 batches: 2 + 2, the last one short
  EXPECT_THROW(rank_share(4, 1, 2, 2), Error);
}

}  // namespace
}  // namespace elit::sampling
