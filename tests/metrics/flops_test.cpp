// FLOPs: the analytic SiT/ELIT-SiT count against (a) an independent count over a real forward of
// this library's models (RecordFunction, operator shapes) and (b) the published FlopCounterMode
// numbers of ELIT-SiT-XL/2 (snap-research/elit assets/multibudget_results/results.json).
#include "elit/metrics/flops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/metrics/flops_counter.h"
#include "elit/models/budget.h"
#include "elit/models/sit.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

models::SiTConfig small_config(bool elit, int64_t group, bool qk_norm, int64_t write_depth) {
  models::SiTConfig c;
  c.input_size = 16;
  c.patch_size = 2;
  c.in_channels = elit ? 4 : 3;
  c.hidden_size = 48;
  c.num_heads = 3;
  c.depth = 5;
  c.mlp_ratio = 2.5;
  c.encoder_depth = 1;
  c.dit_decoder_depth = 2;
  c.group_size = group;
  c.qk_norm = qk_norm;
  c.num_classes = 7;
  c.enable_elit = elit;
  c.elit_write_depth = write_depth;
  return c;
}

TEST(Flops, AnalyticCountMatchesTheMeasuredForward) {
  int compared = 0;
  for (const auto& config : {small_config(true, 2, false, 1), small_config(true, 4, true, 2),
                             small_config(false, 2, false, 1)}) {
    torch::manual_seed(0);
    models::SiT model(config);
    model->eval();
    const auto budgets = config.enable_elit ? models::valid_budgets(config.tokens_per_group())
                                            : std::vector<double>{1};
    for (int64_t batch : {1, 3}) {
      for (double budget : budgets) {
        ForwardFlopsOptions o;
        o.batch = batch;
        o.budget = budget;
        o.convention = FlopsConvention::this_port;
        const int64_t analytic = sit_forward_flops(config, o).total();
        const int64_t measured = measure_forward_flops(
            *model, batch, config.enable_elit ? std::optional<double>(budget) : std::nullopt);
        EXPECT_EQ(analytic, measured)
            << "group " << config.group_size << " batch " << batch << " budget " << budget;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 20);
}

TEST(Flops, PublishedConventionDiffersOnlyInReadQueries) {
  const auto c = small_config(true, 4, false, 1);
  ForwardFlopsOptions o;
  o.batch = 2;
  o.budget = 0.5;
  const auto published = sit_forward_flops(c, o);
  o.convention = FlopsConvention::this_port;
  const auto port = sit_forward_flops(c, o);
  const int64_t D = c.hidden_size, N = c.num_tokens(), T = c.tokens_per_group();
  EXPECT_EQ(published.get("read") - port.get("read"), 2 * N * D * D * 2 - 2 * T * D * D);
  EXPECT_EQ(published.total() - port.total(), published.get("read") - port.get("read"));
}

// Published FlopCounterMode totals of ELIT-SiT-XL/2 at 256px (32x32x4 latents, group 4,
// encoder_depth 8), one forward of a batch of 2 (cfg_scale 1.5 > 1), budgets k/16.
TEST(Flops, MatchesThePublishedMultiBudgetResults) {
  const std::vector<std::pair<int, int64_t>> published = {
      {2, 253069885440},  {3, 269566083072},  {4, 286137778176},  {5, 302784970752},
      {6, 319507660800},  {7, 336305848320},  {8, 353179533312},  {9, 370128715776},
      {10, 387153395712}, {11, 404253573120}, {12, 421429248000}, {13, 438680420352},
      {14, 456007090176}, {15, 473409257472}, {16, 490886922240}};
  const auto config = published_sit_config("ELIT-SiT-XL/2", 256);
  for (const auto& [k, flops] : published) {
    ForwardFlopsOptions o;
    o.batch = 2;
    o.budget = k / 16.0;
    EXPECT_EQ(sit_forward_flops(config, o).total(), flops) << "budget " << k << "/16";
  }
}

TEST(Flops, ComponentsBehaveAsTheArchitectureSays) {
  const auto config = published_sit_config("ELIT-SiT-XL/2", 256);
  EXPECT_EQ(config.input_size, 32);
  EXPECT_EQ(config.encoder_depth, 8);
  EXPECT_EQ(config.dit_decoder_depth, 4);
  EXPECT_EQ(config.group_size, 4);
  ForwardFlopsOptions full, quarter;
  quarter.budget = 0.25;
  const auto f = sit_forward_flops(config, full), q = sit_forward_flops(config, quarter);
  for (const char* same : {"embedders", "spatial_blocks", "read", "write", "final_layer"}) {
    EXPECT_EQ(f.get(same), q.get(same)) << same;
    EXPECT_GT(f.get(same), 0) << same;
  }
  EXPECT_LT(q.get("core"), f.get("core") / 3);  // a quarter of the tokens, less attention
  EXPECT_EQ(f.to_json()["flops"].get<int64_t>(), f.total());
  EXPECT_EQ(f.to_json()["components"].size(), 6u);
  // Pixel-space models run at the given resolution; latent ones at R/8.
  EXPECT_EQ(published_sit_config("SiT-S/2", 32, {{"in_channels", 1}}).input_size, 32);
  EXPECT_THROW(published_sit_config("ELIT-SiT-S/2", 100), elit::Error);
  ForwardFlopsOptions bad;
  bad.budget = 0.01;
  EXPECT_THROW(sit_forward_flops(config, bad), elit::Error);
}

TEST(FlopCounter, CountsMatrixProductsOnceFromTheirShapes) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 5, 8});
  auto w = torch::randn({6, 8});
  auto img = torch::randn({2, 3, 9, 9});
  auto kernel = torch::randn({4, 3, 3, 3});
  int64_t total = 0;
  std::map<std::string, int64_t> ops;
  {
    FlopCounter counter;
    torch::linear(x, w, torch::zeros({6}));                              // 2*10*8*6
    torch::matmul(torch::randn({3, 1, 4, 5}), torch::randn({2, 5, 7}));  // broadcast 3x2 batches
    torch::conv2d(img, kernel, {}, /*stride=*/2);                        // out 2x4x4x4
    (x + 1).relu();                                                      // elementwise: nothing
    total = counter.total();
    ops = counter.by_operator();
  }
  EXPECT_EQ(ops["aten::linear"], 2 * 10 * 8 * 6);
  EXPECT_EQ(ops["aten::matmul"], 2 * 6 * 4 * 5 * 7);
  EXPECT_EQ(ops["aten::conv2d"], 2 * (2 * 4 * 4 * 4) * (3 * 3 * 3));
  EXPECT_EQ(ops.count("aten::addmm"), 0u);  // the addmm inside linear is not counted again
  EXPECT_EQ(total, ops["aten::linear"] + ops["aten::matmul"] + ops["aten::conv2d"]);
  // Nothing is counted once the counter is gone, and a new one starts from zero.
  torch::mm(torch::randn({4, 4}), torch::randn({4, 4}));
  FlopCounter again;
  torch::mm(torch::randn({4, 3}), torch::randn({3, 2}));
  EXPECT_EQ(again.total(), 2 * 4 * 3 * 2);
  EXPECT_THROW(FlopCounter nested, elit::Error);
}

// Any backbone: a model that is not a SiT is measured the same way.
class ToyModel : public models::DiffusionModel {
 public:
  ToyModel() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 8, 2).stride(2)));
    head = register_module("head", torch::nn::Linear(8, 8));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&, const models::Condition&,
                        std::optional<double>) override {
    auto h = conv(x).flatten(2).transpose(1, 2);               // [B, 16, 8]
    auto a = torch::matmul(h, h.transpose(1, 2)).softmax(-1);  // [B, 16, 16]
    return torch::matmul(a, head(h)).transpose(1, 2).reshape({x.size(0), 2, 8, 8});
  }
  models::ModelSpec spec() const override {
    models::ModelSpec s;
    s.name = "toy";
    s.in_channels = 2;
    s.height = s.width = 8;
    return s;
  }
  nlohmann::json config_json() const override { return {{"family", "toy"}}; }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear head{nullptr};
};

TEST(FlopCounter, MeasuresAnyBackbone) {
  ToyModel model;
  const int64_t B = 3;
  const int64_t conv = 2 * (B * 8 * 4 * 4) * (2 * 2 * 2);
  const int64_t scores = 2 * B * 16 * 8 * 16, values = 2 * B * 16 * 16 * 8;
  const int64_t head = 2 * B * 16 * 8 * 8;
  EXPECT_EQ(measure_forward_flops(model, B, std::nullopt), conv + scores + values + head);
  EXPECT_THROW(analytic_forward_flops(model.config_json(), {}), elit::Error);
}

}  // namespace
}  // namespace elit::metrics
