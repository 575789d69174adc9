// Condition dropout takes its uniforms from the global generator, or from an installed scope
// (data-parallel training draws them for the global batch).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/models/diffusion_model.h"
#include "elit/models/dropout_draws.h"
#include "elit/runtime/error.h"

namespace {

using elit::models::dropout_uniforms;
using elit::models::DropoutDrawScope;

TEST(DropoutDraws, DefaultIsTheGlobalGenerator) {
  torch::manual_seed(3);
  const auto expected = torch::rand({5});
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(dropout_uniforms(5, torch::kCPU), expected));
}

TEST(DropoutDraws, ScopeSuppliesTheDrawsAndNests) {
  const auto ones = [](int64_t rows, const torch::Device&) { return torch::ones({rows}); };
  const auto zeros = [](int64_t rows, const torch::Device&) { return torch::zeros({rows}); };
  {
    DropoutDrawScope outer(ones);
    EXPECT_TRUE(torch::equal(dropout_uniforms(3, torch::kCPU), torch::ones({3})));
    {
      DropoutDrawScope inner(zeros);
      // Every label is dropped when every draw is below the probability.
      const auto labels = torch::tensor({1, 2, 3}, torch::kInt64);
      EXPECT_TRUE(torch::equal(elit::models::drop_labels(labels, 0.5, 9),
                               torch::full({3}, 9, torch::kInt64)));
    }
    EXPECT_TRUE(torch::equal(dropout_uniforms(2, torch::kCPU), torch::ones({2})));
  }
  torch::manual_seed(4);
  const auto expected = torch::rand({4});
  torch::manual_seed(4);
  EXPECT_TRUE(torch::equal(dropout_uniforms(4, torch::kCPU), expected));
}

TEST(DropoutDraws, WrongNumberOfDrawsIsAnError) {
  DropoutDrawScope scope(
      [](int64_t rows, const torch::Device&) { return torch::rand({rows + 1}); });
  EXPECT_THROW(dropout_uniforms(3, torch::kCPU), elit::Error);
}

}  // namespace
