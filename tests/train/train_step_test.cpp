// One update: gradient accumulation averages the micro-batches, and the communicator sees the
// loss and every gradient (the all-reduce extension point) before clipping.
#include "elit/train/train_step.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "elit/io/state_dict.h"
#include "elit/models/registry.h"

namespace elit::train {
namespace {

class RecordingCommunicator : public LocalCommunicator {
 public:
  void all_reduce_mean(std::vector<torch::Tensor>& tensors) override {
    recorded.clear();
    for (const auto& t : tensors) recorded.push_back(t.clone());
  }
  std::vector<torch::Tensor> recorded;  // [loss, gradients...]
};

models::ModelPtr tiny_model(const io::TensorMap* weights) {
  auto m = models::create_model({{"model", "SiT-S/2"},
                                 {"input_size", 8},
                                 {"in_channels", 1},
                                 {"hidden_size", 32},
                                 {"depth", 2},
                                 {"num_heads", 2},
                                 {"num_classes", 3},
                                 {"class_dropout_prob", 0.0}});
  if (weights) io::load_state_dict(*m, *weights, "copy");
  return m;
}

data::Batch batch(int64_t n, int64_t seed) {
  auto g = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return {torch::randn({n, 1, 8, 8}, g, torch::kFloat32), torch::arange(n).remainder(3), 0, 0};
}

// Loss and gradients of one update (before clipping), from a fresh copy of the weights.
struct Probe {
  std::shared_ptr<RecordingCommunicator> comm = std::make_shared<RecordingCommunicator>();
  std::unique_ptr<TrainStep> step;
  explicit Probe(const io::TensorMap& weights) {
    TrainStepOptions o;
    o.max_grad_norm = 0.0;
    step = std::make_unique<TrainStep>(tiny_model(&weights), o, comm);
  }
  std::vector<torch::Tensor> run(const std::vector<data::Batch>& micro) {
    EXPECT_TRUE(step->run(micro, std::nullopt, 0).applied);
    return comm->recorded;
  }
};

TEST(TrainStep, AccumulationAveragesMicroBatches) {
  torch::manual_seed(0);
  io::TensorMap weights = io::state_dict(*tiny_model(nullptr));
  {
    // Non-zero output layer, so that every gradient is non-zero (adaLN-Zero starts at zero).
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : weights) {
      if (t.is_floating_point()) t.add_(torch::randn_like(t) * 0.02);
    }
  }
  const auto b1 = batch(4, 1), b2 = batch(4, 2);
  Probe together(weights), first(weights), second(weights);  // models built before seeding
  torch::manual_seed(42);
  const auto both = together.run({b1, b2});
  torch::manual_seed(42);  // the same times and noise, drawn in the same order
  const auto g1 = first.run({b1});
  const auto g2 = second.run({b2});
  ASSERT_EQ(both.size(), g1.size());
  ASSERT_GT(both.size(), 10u);
  for (size_t i = 0; i < both.size(); ++i) {
    EXPECT_GT(both[i].abs().max().item<double>(), 0.0) << "tensor " << i;
    const auto mean = (g1[i] + g2[i]).to(torch::kFloat64) / 2;
    EXPECT_TRUE(torch::allclose(both[i].to(torch::kFloat64), mean, 1e-5, 1e-7)) << "tensor " << i;
  }
}

TEST(TrainStep, UpdatesWeightsAndEmaAndSkipsNonFinite) {
  torch::manual_seed(0);
  TrainStepOptions o;
  o.ema_decay = 0.5;
  TrainStep step(tiny_model(nullptr), o);
  io::TensorMap before;  // copies: state_dict shares the parameters' storage
  for (const auto& [k, t] : io::state_dict(step.model())) before[k] = t.clone();
  const auto r = step.run({batch(4, 3)}, std::nullopt, 0);
  ASSERT_TRUE(r.applied);
  EXPECT_DOUBLE_EQ(r.lr, o.lr.base_lr);
  const std::string name = "final_layer.linear.weight";  // has a gradient at initialisation
  const auto after = step.model().named_parameters()[name];
  EXPECT_FALSE(torch::equal(after, before.at(name)));
  EXPECT_TRUE(torch::allclose(step.ema().weights().at(name), 0.5 * before.at(name) + 0.5 * after));
  // NaN data: the update is skipped and nothing changes.
  auto bad = batch(4, 4);
  bad.x[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  const auto kept = after.clone();
  const auto skipped = step.run({bad}, std::nullopt, 1);
  EXPECT_FALSE(skipped.applied);
  EXPECT_FALSE(skipped.overflow);
  EXPECT_NE(skipped.skip_reason.find("non-finite"), std::string::npos);
  EXPECT_TRUE(torch::equal(step.model().named_parameters()[name], kept));
}

}  // namespace
}  // namespace elit::train
