// Parity with the published ELIT code on every case of ../shared/reference/manifest.json:
// outputs at every budget (float64 1e-9, float32 1e-4), the loss (1e-9) and every gradient (1e-5).
#include <gtest/gtest.h>

#include "elit/io/state_dict.h"
#include "models/reference_case.h"
#include "support/reference.h"

namespace elit::testing {
namespace {

std::string output_key(double budget) {
  char key[64];
  std::snprintf(key, sizeof key, "output.budget_%.4f", budget);
  return key;
}

void check_outputs(torch::Dtype dtype, double tolerance) {
  for (const auto& c : load_reference_cases()) {
    auto model = reference_model(c, dtype);
    const auto x = c.tensors.at("input.x").to(dtype);
    const auto t = c.tensors.at("input.t").to(dtype);
    const auto y = c.tensors.at("input.y");
    torch::NoGradGuard no_grad;
    if (!c.entry["elit"].get<bool>()) {
      EXPECT_LT(max_rel_error(model->forward(x, t, y), c.tensors.at("output.full")), tolerance)
          << c.name();
      continue;
    }
    for (double budget : c.entry["budgets"].get<std::vector<double>>()) {
      const double err = max_rel_error(model->forward(x, t, y, budget),
                                        c.tensors.at(output_key(budget)));
      EXPECT_LT(err, tolerance) << c.name() << " budget " << budget;
    }
  }
}

TEST(Parity, OutputsFloat64) {
  ELIT_REQUIRE_REFERENCE(ref);
  check_outputs(torch::kFloat64, 1e-9);
}

TEST(Parity, OutputsFloat32) {
  ELIT_REQUIRE_REFERENCE(ref);
  check_outputs(torch::kFloat32, 1e-4);
}

TEST(Parity, LossAndGradients) {
  ELIT_REQUIRE_REFERENCE(ref);
  for (const auto& c : load_reference_cases()) {
    auto model = reference_model(c, torch::kFloat64);
    const auto x0 = c.tensors.at("loss.x0").to(torch::kFloat64);
    const auto noise = c.tensors.at("loss.noise").to(torch::kFloat64);
    const auto t = c.tensors.at("loss.t").to(torch::kFloat64);
    const auto tb = t.view({-1, 1, 1, 1});
    const auto xt = (1 - tb) * x0 + tb * noise;
    std::optional<double> budget;
    if (!c.entry["grad_budget"].is_null()) budget = c.entry["grad_budget"].get<double>();
    auto out = model->forward(xt, t, c.tensors.at("input.y"), budget);
    auto loss = (out - (noise - x0)).pow(2).mean();
    EXPECT_LT(max_rel_error(loss.reshape({1}), c.tensors.at("loss.value")), 1e-9) << c.name();
    loss.backward();
    // The key bias of a softmax attention has a mathematically zero gradient (it shifts every
    // score of a query equally); both sides store round-off there (~1e-19). Gradients are
    // compared relative to their own size, floored at 1e-9 of the largest gradient.
    double largest = 0;
    for (const auto& [k, t] : c.tensors) {
      if (k.rfind("grad.", 0) == 0) largest = std::max(largest, t.abs().max().item<double>());
    }
    int checked = 0;
    for (const auto& p : model->named_parameters()) {
      auto it = c.tensors.find("grad." + p.key());
      ASSERT_NE(it, c.tensors.end()) << c.name() << " has no gradient for " << p.key();
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_LT(max_rel_error(p.value().grad(), it->second, 1e-9 * largest), 1e-5)
          << c.name() << " " << p.key();
      ++checked;
    }
    EXPECT_GT(checked, 20) << c.name();
  }
}

TEST(Parity, StateDictNamesAndParameterCount) {
  ELIT_REQUIRE_REFERENCE(ref);
  for (const auto& c : load_reference_cases()) {
    models::SiT model(c.config);
    std::vector<std::string> ours, published = c.entry["state_dict_keys"];
    int64_t count = 0;
    for (const auto& [k, t] : io::state_dict(*model)) {
      ours.push_back(k);
      count += t.numel();
    }
    std::sort(published.begin(), published.end());
    EXPECT_EQ(ours, published) << c.name();
    EXPECT_EQ(count, c.entry["num_params"].get<int64_t>()) << c.name();
  }
}

}  // namespace
}  // namespace elit::testing
