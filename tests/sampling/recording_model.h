// A fake DiffusionModel for sampler tests: records every forward (rows, t, labels, budget) and
// returns a velocity that encodes the label and the budget, so that tests can check which
// branch ran with which condition at which budget, and the guidance arithmetic.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "elit/models/diffusion_model.h"

namespace elit::testing {

struct RecordedForward {
  int64_t rows = 0;
  std::vector<double> t;
  std::vector<int64_t> labels;
  std::optional<double> budget;
  torch::Dtype dtype = torch::kFloat32;
};

class RecordingModel : public models::DiffusionModel {
 public:
  // 1 x 4 x 4 inputs, groups of 4 latents (16 latents), 10 classes (null label 10).
  explicit RecordingModel(bool elit = true) : elit_(elit) {
    // One parameter, so that tools can read the model's device and dtype.
    anchor_ = register_parameter("anchor", torch::zeros({1}));
  }

  // v = (label + 1) + 100 * budget, the same at every pixel (budget unset counts as 1).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const models::Condition& c,
                        std::optional<double> budget) override {
    if (budget) keep_for_budget(*budget);  // a real model rejects invalid budgets too
    RecordedForward r;
    r.rows = x.size(0);
    r.dtype = x.scalar_type();
    auto t64 = t.to(torch::kFloat64).contiguous();
    r.t.assign(t64.data_ptr<double>(), t64.data_ptr<double>() + t64.numel());
    auto labels = c.labels.to(torch::kInt64).contiguous();
    r.labels.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
    r.budget = budget;
    calls.push_back(r);
    const auto value = (c.labels.to(x.scalar_type()) + 1) + 100.0 * budget.value_or(1.0);
    return value.view({-1, 1, 1, 1}).expand_as(x).clone();
  }

  models::ModelSpec spec() const override {
    models::ModelSpec s;
    s.name = "recording";
    s.family = "test";
    s.in_channels = 1;
    s.height = s.width = 4;
    s.num_classes = 10;
    s.elit = elit_;
    s.tokens_per_group = elit_ ? 4 : 1;
    s.latent_tokens = 16;
    return s;
  }
  nlohmann::json config_json() const override { return nlohmann::json::object(); }

  std::vector<RecordedForward> calls;

 private:
  bool elit_;
  torch::Tensor anchor_;
};

}  // namespace elit::testing
