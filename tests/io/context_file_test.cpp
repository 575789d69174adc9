// Precomputed text context files (batched and per-sample layouts).
#include "elit/io/context_file.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {

TEST(ContextFile, BatchedLayoutRoundTrips) {
  const auto dir = testing::temp_dir("context_batched");
  models::Condition c;
  c.context = torch::randn({3, 4, 6});
  c.context_mask = torch::rand({3, 4}) > 0.3;
  c.pooled = torch::randn({3, 5});
  write_context_file(dir + "/c.safetensors", c);
  auto back = read_context_file(dir + "/c.safetensors");
  EXPECT_TRUE(torch::equal(back.context, c.context));
  EXPECT_TRUE(torch::equal(back.context_mask, c.context_mask));
  EXPECT_TRUE(torch::equal(back.pooled, c.pooled));
}

TEST(ContextFile, PerSampleLayoutIsPaddedWithAMask) {
  TensorMap t{{"context.0", torch::randn({2, 6})},
              {"context.1", torch::randn({5, 6})},
              {"pooled.0", torch::randn({3})},
              {"pooled.1", torch::randn({3})}};
  auto c = context_from_tensors(t, "mem");
  EXPECT_EQ(c.context.sizes(), (std::vector<int64_t>{2, 5, 6}));
  EXPECT_TRUE(torch::equal(c.context[0].narrow(0, 0, 2), t["context.0"]));
  EXPECT_TRUE(torch::equal(c.context_mask.sum(1), torch::tensor({2, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(c.context[0].narrow(0, 2, 3), torch::zeros({3, 6})));
  EXPECT_EQ(c.pooled.sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(ContextFile, InconsistentFilesAreClearErrors) {
  EXPECT_THROW(context_from_tensors({{"ctx", torch::randn({1, 2, 3})}}, "m"), elit::Error);
  EXPECT_THROW(context_from_tensors(
                   {{"context.0", torch::randn({2, 6})}, {"context.1", torch::randn({2, 7})}}, "m"),
               elit::Error);
  EXPECT_THROW(context_from_tensors(
                   {{"context.0", torch::randn({2, 6})}, {"context.2", torch::randn({2, 6})}}, "m"),
               elit::Error);
  EXPECT_THROW(
      context_from_tensors(
          {{"context", torch::randn({2, 3, 6})}, {"context_mask", torch::ones({2, 4})}}, "m"),
      elit::Error);
}

}  // namespace
}  // namespace elit::io
