// The linears' own float32 path (oneDNN's sgemm where libtorch loaded oneDNN) gives libtorch's
// values with and without a bias, leaves the bias out when asked, reads rows at a stride, keeps
// autograd, and is counted as the product it replaces.
#include "elit/models/flat_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/metrics/flops_counter.h"

namespace elit::models {
namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Rows and widths of an ELIT-SiT-S/2 qkv projection, large enough for the oneDNN path; 37 columns
// of padding give the input a row stride wider than its width.
TEST(FlatLinear, MatchesLibtorchWithAndWithoutBias) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  for (const bool bias : {true, false}) {
    torch::nn::Linear linear(torch::nn::LinearOptions(384, 1152).bias(bias));
    const auto wide = torch::randn({300, 384 + 37});
    const auto x = wide.narrow(1, 0, 384);  // stride(0) = 421
    const auto want = torch::nn::functional::linear(x.contiguous(), linear->weight,
                                                    bias ? linear->bias : torch::Tensor());
    const auto got = linear_rows(linear, x);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(max_diff(got, want), 1e-4) << "bias " << bias;
    EXPECT_LT(
        max_diff(linear_rows(linear, x, /*add_bias=*/false), torch::mm(x, linear->weight.t())),
        1e-4);
    // [B, N, in] through flat_linear keeps the leading dims.
    const auto x3 = torch::randn({2, 150, 384});
    EXPECT_LT(max_diff(flat_linear(linear, x3), linear(x3)), 1e-4);
  }
}

// Training goes through the same products: gradients of input, weight and bias as libtorch's.
TEST(FlatLinear, GradientsMatchLibtorch) {
  torch::manual_seed(6);
  for (const bool bias : {true, false}) {
    torch::nn::Linear linear(torch::nn::LinearOptions(384, 512).bias(bias));
    const auto x = torch::randn({256, 384}, torch::requires_grad());
    auto y = linear_rows(linear, x);
    ASSERT_TRUE(y.requires_grad());
    const auto g = torch::randn({256, 512});
    y.backward(g);
    const auto grad_w = linear->weight.grad().clone(), grad_x = x.grad().clone();
    const auto grad_b = bias ? linear->bias.grad().clone() : torch::Tensor();
    linear->zero_grad();
    x.mutable_grad().zero_();
    torch::nn::functional::linear(x, linear->weight, bias ? linear->bias : torch::Tensor())
        .backward(g);
    EXPECT_LT(max_diff(grad_w, linear->weight.grad()), 1e-3) << "bias " << bias;
    EXPECT_LT(max_diff(grad_x, x.grad()), 1e-4) << "bias " << bias;
    if (bias) EXPECT_LT(max_diff(grad_b, linear->bias.grad()), 1e-3);
  }
}

TEST(FlatLinear, CountedAsTheProductItReplaces) {
  torch::NoGradGuard no_grad;
  torch::nn::Linear with_bias(384, 1152), without(torch::nn::LinearOptions(384, 1152).bias(false));
  const auto x = torch::randn({256, 384});
  metrics::FlopCounter counter;
  linear_rows(with_bias, x);
  linear_rows(with_bias, x, /*add_bias=*/false);
  linear_rows(without, x);
  EXPECT_EQ(counter.total(), 3 * 2 * 256 * 384 * 1152);
}

}  // namespace
}  // namespace elit::models
