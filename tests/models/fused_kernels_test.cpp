// The one-pass inference kernels give libtorch's values (float32 to ~1e-6, bfloat16 to its
// rounding), handle rows that are not a multiple of the vector width, masked (-inf) scores and
// every thread split, are not taken where autograd needs a graph, and leave a whole model's
// forward unchanged.
#include "elit/models/fused_kernels.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "elit/models/attention.h"
#include "elit/models/mlp.h"
#include "elit/models/registry.h"
#include "elit/models/sit_block.h"
#include "elit/models/strided_attention.h"

namespace elit::models {
namespace {

// Switches the kernels on or off for one scope.
struct FusedKernels {
  explicit FusedKernels(bool on) : before(fused::enabled()) { fused::set_enabled(on); }
  ~FusedKernels() { fused::set_enabled(before); }
  bool before;
};

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// bfloat16 results against the float32 ones: within one bfloat16 rounding (2^-8 relative) plus a
// little for the float32 arithmetic.
void expect_bf16_close(const torch::Tensor& got, const torch::Tensor& want32) {
  ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
  const auto err = (got.to(torch::kFloat32) - want32).abs();
  const auto bound = want32.abs() * (1.0 / 256) + 1e-6;
  EXPECT_TRUE((err <= bound).all().item<bool>()) << "max error " << err.max().item<double>();
}

torch::Tensor reference_norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                                      const torch::Tensor& scale) {
  auto normed = torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-6);
  return normed * (1 + per_sample(scale, x)) + per_sample(shift, x);
}

TEST(FusedKernels, LayerNormModulateMatchesLibtorch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  // Widths with and without a partial vector; token dims of 0, 1 and 2 extra axes.
  for (const auto& shape : std::vector<std::vector<int64_t>>{{3, 37}, {2, 7, 384}, {2, 3, 5, 20}}) {
    const auto x = torch::randn(shape) * 3 + 1;
    const auto shift = torch::randn({shape[0], shape.back()});
    const auto scale = torch::randn({shape[0], shape.back()});
    const auto want = reference_norm_modulate(x, shift, scale);
    const auto got = fused::layer_norm_modulate(x, shift, scale, 1e-6);
    ASSERT_EQ(got.sizes(), x.sizes());
    EXPECT_LT(max_diff(got, want), 2e-5) << "shape " << x.sizes();
    expect_bf16_close(
        fused::layer_norm_modulate(x.to(torch::kBFloat16), shift, scale, 1e-6),
        reference_norm_modulate(x.to(torch::kBFloat16).to(torch::kFloat32), shift, scale));
  }
}

TEST(FusedKernels, GeluTanhMatchesLibtorchOverTheWholeRange) {
  torch::NoGradGuard no_grad;
  // -30..30, including values whose exponential under- or overflows; 1001 is not a multiple of
  // the vector width.
  auto x = torch::linspace(-30, 30, 1001);
  const auto want = torch::gelu(x, "tanh");
  auto got = x.clone();
  fused::gelu_tanh_(got);
  EXPECT_LT(max_diff(got, want), 2e-6);
  EXPECT_FALSE(torch::isnan(got).any().item<bool>());
  auto big = torch::randn({4, 100, 1536}) * 4;  // several threads' worth
  auto big_out = big.clone();
  fused::gelu_tanh_(big_out);
  EXPECT_LT(max_diff(big_out, torch::gelu(big, "tanh")), 2e-6);
  auto b16 = big.to(torch::kBFloat16);
  fused::gelu_tanh_(b16);
  expect_bf16_close(b16, torch::gelu(big.to(torch::kBFloat16).to(torch::kFloat32), "tanh"));
}

// Training's GELU: the kernels' forward and backward against libtorch's, over the whole range,
// and an MLP's gradients with them.
TEST(FusedKernels, GeluTanhGradientsMatchLibtorch) {
  torch::manual_seed(10);
  const auto values = torch::cat({torch::linspace(-30, 30, 1001), torch::randn({5000}) * 3});
  const auto x = values.clone().requires_grad_();
  const auto g = torch::randn_like(values);
  const auto y = fused::gelu_tanh(x);
  EXPECT_LT(max_diff(y, torch::gelu(values, "tanh")), 2e-6);
  const auto ref = values.clone().requires_grad_();
  torch::gelu(ref, "tanh").backward(g);
  const auto got = fused::gelu_tanh_backward(g, x);
  EXPECT_LT(max_diff(got, ref.grad()), 1e-5 * g.abs().max().item<double>());
  EXPECT_FALSE(torch::isnan(got).any().item<bool>());
  const auto xb = values.to(torch::kBFloat16), gb = g.to(torch::kBFloat16);
  const auto ref_b = xb.to(torch::kFloat32).requires_grad_();
  torch::gelu(ref_b, "tanh").backward(gb.to(torch::kFloat32));
  // Within one bfloat16 rounding, plus 1e-5 where libtorch's tanh saturates and gives exactly 0
  // (x near -5: the true derivative is ~1e-6).
  const auto got_b = fused::gelu_tanh_backward(gb, xb).to(torch::kFloat32);
  const auto err = (got_b - ref_b.grad()).abs();
  EXPECT_TRUE((err <= ref_b.grad().abs() / 256 + 1e-5).all().item<bool>())
      << "max error " << err.max().item<double>();

  Mlp mlp(24, 96, 24);
  const auto in = torch::randn({4, 7, 24});
  mlp(in).square().sum().backward();
  std::vector<torch::Tensor> fused_grads;
  for (const auto& p : mlp->parameters()) fused_grads.push_back(p.grad().clone());
  mlp->zero_grad();
  {
    FusedKernels off(false);  // libtorch's GELU and its backward
    mlp(in).square().sum().backward();
  }
  const auto params = mlp->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_LT(max_diff(fused_grads[i], params[i].grad()), 1e-5) << "parameter " << i;
  }
}

TEST(FusedKernels, GeluTanhWithTheLinearsBias) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  for (const int64_t n : {37, 1536}) {  // a partial vector; an MLP's hidden width
    const auto x = torch::randn({70, n}) * 3, bias = torch::randn({n});
    auto got = x.clone();
    fused::gelu_tanh_(got, bias);
    EXPECT_LT(max_diff(got, torch::gelu(x + bias, "tanh")), 2e-6) << "width " << n;
    auto b16 = x.to(torch::kBFloat16);
    fused::gelu_tanh_(b16, bias.to(torch::kBFloat16));
    expect_bf16_close(b16, torch::gelu(x.to(torch::kBFloat16).to(torch::kFloat32) +
                                           bias.to(torch::kBFloat16).to(torch::kFloat32),
                                       "tanh"));
  }
  auto x = torch::randn({4, 8});
  EXPECT_THROW(fused::gelu_tanh_(x, torch::randn({7})), std::exception);
}

// The published RMSNorm: scale * x / (|x| / sqrt(D) + eps), normalised in float32.
torch::Tensor reference_rms_norm(const torch::Tensor& x, const torch::Tensor& scale, double eps) {
  const auto x32 = x.to(torch::kFloat32);
  const auto rms = x32.norm(2, {-1}, true) / std::sqrt(static_cast<double>(x.size(-1)));
  return scale.to(torch::kFloat32) * (x32 / (rms + eps));
}

TEST(FusedKernels, RmsNormMatchesThePublishedFormula) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(8);
  const auto kv = torch::randn({2, 50, 2 * 384}) * 2;
  const auto chunk = kv.chunk(2, -1)[0];  // rows at a stride of 768: read in place
  const auto scale = torch::randn({384});
  for (const auto& x : {chunk, torch::randn({3, 5, 37}), chunk.transpose(0, 1)}) {
    const auto s = scale.narrow(0, 0, x.size(-1)).contiguous();
    const auto got = fused::rms_norm(x, s, 1e-5);
    ASSERT_EQ(got.sizes(), x.sizes());
    EXPECT_LT(max_diff(got, reference_rms_norm(x, s, 1e-5)), 2e-5) << "shape " << x.sizes();
    const auto xb = x.to(torch::kBFloat16), sb = s.to(torch::kBFloat16);
    expect_bf16_close(fused::rms_norm(xb, sb, 1e-5), reference_rms_norm(xb, sb, 1e-5));
  }
  // The module takes it without autograd and gives the same values.
  RMSNorm norm(384);
  norm->scale.data().copy_(scale);
  EXPECT_LT(max_diff(norm(chunk), reference_rms_norm(chunk, scale, 1e-5)), 2e-5);
}

TEST(FusedKernels, SoftmaxMatchesLibtorchWithMaskedScores) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  for (const int64_t n : {1, 16, 37, 256}) {
    auto x = torch::randn({3, 50, n}) * 5;
    if (n > 1) x.select(-1, n - 1).fill_(-INFINITY);  // a masked key: weight exactly 0
    const auto want = x.softmax(-1);
    auto got = x.clone();
    fused::softmax_(got);
    EXPECT_LT(max_diff(got, want), 1e-6) << "row length " << n;
    if (n > 1) {
      EXPECT_TRUE((got.select(-1, n - 1) == 0).all().item<bool>());
    }
    auto b16 = x.to(torch::kBFloat16);
    fused::softmax_(b16);
    expect_bf16_close(b16, x.to(torch::kBFloat16).to(torch::kFloat32).softmax(-1));
  }
}

TEST(FusedKernels, GatedResidualMatchesLibtorch) {
  torch::NoGradGuard no_grad;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{3, 21}, {2, 40, 384}}) {
    const auto x = torch::randn(shape), y = torch::randn(shape);
    const auto gate = torch::randn({shape[0], shape.back()});
    const auto want = x + per_sample(gate, x) * y;
    EXPECT_LT(max_diff(fused::gated_residual(x, gate, y), want), 1e-6);
    const auto xb = x.to(torch::kBFloat16), yb = y.to(torch::kBFloat16);
    expect_bf16_close(fused::gated_residual(xb, gate, yb),
                      xb.to(torch::kFloat32) + per_sample(gate, x) * yb.to(torch::kFloat32));
  }
}

TEST(FusedKernels, TakenOnlyWithoutAutogradForFloat32AndBfloat16) {
  const auto x = torch::randn({2, 3});
  const auto w = torch::randn({2, 3}, torch::requires_grad());
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(fused::applies({x, w}));
    EXPECT_TRUE(fused::applies({x.to(torch::kBFloat16)}));
    EXPECT_FALSE(fused::applies({x.to(torch::kFloat64)}));  // the exact parity path
    FusedKernels off(false);
    EXPECT_FALSE(fused::applies({x}));
  }
  EXPECT_TRUE(fused::applies({x}));
  EXPECT_FALSE(fused::applies({x, w}));  // training: autograd needs the graph
  // The block helpers then keep libtorch's differentiable expressions.
  const auto shift = torch::randn({2, 3}, torch::requires_grad());
  auto out = norm_modulate(x.unsqueeze(1), shift, torch::zeros({2, 3}));
  EXPECT_TRUE(out.requires_grad());
  out.sum().backward();
  EXPECT_TRUE(shift.grad().defined());
}

TEST(FusedKernels, AttentionMatchesTheUnfusedPath) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  // Fused-qkv heads (strided), 256 tokens as in ELIT-SiT-S/2, and a small grouped case.
  for (const auto& [B, N, H, d] :
       std::vector<std::array<int64_t, 4>>{{2, 256, 3, 64}, {5, 9, 2, 6}}) {
    const auto qkv = torch::randn({B, N, 3, H, d}).permute({2, 0, 3, 1, 4});
    torch::Tensor fused_out, plain_out;
    {
      FusedKernels on(true);
      fused_out = scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
    }
    {
      FusedKernels off(false);
      plain_out = scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
    }
    EXPECT_LT(max_diff(fused_out, plain_out), 1e-5) << "tokens " << N;
  }
}

// Small bfloat16 score matrices (grouped Read/Write) are computed from float32 copies per matrix:
// the float32 attention of the same (bfloat16) values, rounded once. Large ones stay with oneDNN.
TEST(FusedKernels, Bfloat16AttentionThroughFloat32Copies) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(9);
  // [B, G, H, tokens, d]: keys and values as chunks of one projection, queries broadcast over B.
  const auto kv = torch::randn({3, 16, 12, 2, 2, 64}).to(torch::kBFloat16);
  const auto k = kv.select(3, 0).permute({0, 1, 3, 2, 4}),
             v = kv.select(3, 1).permute({0, 1, 3, 2, 4});
  const auto q = torch::randn({1, 1, 2, 5, 64}).to(torch::kBFloat16).expand({3, 16, 2, 5, 64});
  ASSERT_TRUE(strided_attention_applies(q, k, v));
  const auto got = scaled_dot_product_attention(q, k, v);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{3, 16, 2, 5, 64}));
  const auto want = scaled_dot_product_attention(q.to(torch::kFloat32), k.to(torch::kFloat32),
                                                 v.to(torch::kFloat32));
  expect_bf16_close(got, want);
  const auto big = torch::randn({3, 2, 2, 256, 64}).to(torch::kBFloat16);
  EXPECT_FALSE(strided_attention_applies(big[0], big[1], big[2]));
  FusedKernels off(false);
  EXPECT_FALSE(strided_attention_applies(q, k, v));
}

TEST(FusedKernels, ModelForwardUnchangedInFloat32AndBfloat16) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  auto model = create_model({{"model", "ELIT-SiT-S/2"},
                             {"input_size", 16},
                             {"in_channels", 4},
                             {"depth", 4},
                             {"encoder_depth", 1},
                             {"dit_decoder_depth", 1}});
  model->eval();
  // Non-zero adaLN and output layers, so that every kernel changes the output.
  for (auto& p : model->parameters()) p.normal_(0.0, 0.05);
  const auto x = torch::randn({2, 4, 16, 16}), t = torch::rand({2});
  const auto cond = model->condition_for_labels(torch::tensor({1, 7}));
  for (const double budget : {1.0, 0.25}) {
    torch::Tensor with, without;
    {
      FusedKernels on(true);
      with = model->forward(x, t, cond, budget);
    }
    {
      FusedKernels off(false);
      without = model->forward(x, t, cond, budget);
    }
    EXPECT_LT(max_diff(with, without), 1e-4 * without.abs().max().item<double>() + 1e-6)
        << "budget " << budget;
  }
  model->to(torch::kBFloat16);
  const auto xb = x.to(torch::kBFloat16), tb = t.to(torch::kBFloat16);
  torch::Tensor with, without;
  {
    FusedKernels on(true);
    with = model->forward(xb, tb, cond, 1.0).to(torch::kFloat32);
  }
  {
    FusedKernels off(false);
    without = model->forward(xb, tb, cond, 1.0).to(torch::kFloat32);
  }
  EXPECT_LT((with - without).norm().item<double>() / without.norm().item<double>(), 1e-2);
}

}  // namespace
}  // namespace elit::models
