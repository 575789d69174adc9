// FLOPs of the ELIT variants of every backbone, measured over a real forward, fall strictly as
// the budget falls (issues #8 and #9: the budget must buy compute on every backbone).
#include <gtest/gtest.h>

#include "elit/metrics/flops_counter.h"
#include "elit/models/budget.h"
#include "elit/models/registry.h"

namespace elit::metrics {
namespace {

void expect_strictly_decreasing(const nlohmann::json& config) {
  torch::manual_seed(0);
  auto model = models::create_model(config);
  model->eval();
  const auto spec = model->spec();
  ASSERT_TRUE(spec.elit) << config.dump();
  auto budgets = models::valid_budgets(spec.tokens_per_group);
  // Every level for small groups; an even spread for large ones (a 7x7 group has 49 levels).
  if (budgets.size() > 8) {
    std::vector<double> spread;
    for (size_t i = 0; i < budgets.size(); i += budgets.size() / 6) spread.push_back(budgets[i]);
    if (spread.back() != budgets.back()) spread.push_back(budgets.back());
    budgets = spread;
  }
  int64_t previous = -1;
  for (double b : budgets) {  // ascending
    const int64_t flops = measure_forward_flops(*model, /*batch=*/2, b);
    EXPECT_GT(flops, previous) << spec.name << " budget " << b;
    previous = flops;
  }
}

TEST(BackboneFlops, ElitUVitFallsWithTheBudget) {
  expect_strictly_decreasing({{"model", "ELIT-UViT-T/2"}});
}

TEST(BackboneFlops, ElitHDiTFallsWithTheBudget) {
  expect_strictly_decreasing({{"model", "ELIT-HDiT-T/2"}});
}

TEST(BackboneFlops, ElitMMDiTFallsWithTheBudget) {
  expect_strictly_decreasing({{"model", "ELIT-MMDiT-S/2"},
                              {"captions", {"a photo of a bag"}},
                              {"input_size", 16},
                              {"in_channels", 1},
                              {"depth", 4},
                              {"hidden_size", 64},
                              {"num_heads", 2},
                              {"text_width", 32},
                              {"text_heads", 2},
                              {"encoder_depth", 1},
                              {"dit_decoder_depth", 1},
                              {"group_size", 2}});
}

TEST(BackboneFlops, ElitSiTFallsWithTheBudget) {
  expect_strictly_decreasing({{"model", "ELIT-SiT-S/2"},
                              {"input_size", 16},
                              {"in_channels", 1},
                              {"depth", 4},
                              {"hidden_size", 64},
                              {"num_heads", 2},
                              {"encoder_depth", 1},
                              {"dit_decoder_depth", 1},
                              {"group_size", 4}});
}

}  // namespace
}  // namespace elit::metrics
