// The inference attention core that reads strided q/k/v in place gives the copying path's values
// (the path autograd takes) for fused-qkv heads, broadcast queries and a single matrix, writes
// the heads side by side, and is not taken where autograd needs the graph.
#include "elit/models/strided_attention.h"

#include <gtest/gtest.h>

#include "elit/models/attention.h"

namespace elit::models {
namespace {

// The copying path: the same call with inputs that require gradients.
torch::Tensor copying_attention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v) {
  torch::AutoGradMode grad(true);
  auto out = scaled_dot_product_attention(q.detach().requires_grad_(), k.detach().requires_grad_(),
                                          v.detach().requires_grad_());
  return out.detach();
}

void expect_same(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(strided_attention_applies(q, k, v));
  const auto fast = scaled_dot_product_attention(q, k, v);
  const auto slow = copying_attention(q, k, v);
  ASSERT_EQ(fast.sizes(), slow.sizes());
  EXPECT_TRUE(torch::allclose(fast, slow, 1e-12, 1e-13))
      << "max difference " << (fast - slow).abs().max().item<double>();
}

TEST(StridedAttention, FusedQkvHeadsMatchTheCopyingPath) {
  const int64_t B = 2, N = 70, H = 3, d = 8;
  const auto qkv = torch::randn({B, N, 3, H, d}, torch::kFloat64).permute({2, 0, 3, 1, 4});
  expect_same(qkv[0], qkv[1], qkv[2]);
  // The heads of the output sit side by side: merging them is a view.
  torch::NoGradGuard no_grad;
  const auto out = scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
  EXPECT_TRUE(out.transpose(1, 2).is_contiguous());
}

TEST(StridedAttention, BroadcastQueriesAndSplitHeadsMatchTheCopyingPath) {
  // Learned queries [H, T, d] shared by every sample and group; keys/values [B, G, H, N, d].
  const int64_t B = 2, G = 5, H = 2, T = 4, N = 9, d = 6;
  const auto queries = torch::randn({H, T, d}, torch::kFloat64);
  const auto kv = torch::randn({B, G, N, 2, H, d}, torch::kFloat64);
  const auto k = kv.select(3, 0).transpose(2, 3), v = kv.select(3, 1).transpose(2, 3);
  expect_same(queries, k, v);
}

TEST(StridedAttention, SingleMatrixAndFloat32) {
  const auto q = torch::randn({130, 16}), k = torch::randn({90, 16}), v = torch::randn({90, 5});
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(strided_attention_applies(q, k, v));
  const auto fast = strided_attention(q, k, v);
  const auto slow = copying_attention(q, k, v);
  EXPECT_TRUE(torch::allclose(fast, slow, 1e-5, 1e-6));
}

TEST(StridedAttention, NotTakenWhereAutogradNeedsTheGraph) {
  auto q = torch::randn({2, 8, 4}, torch::kFloat64).requires_grad_();
  const auto k = torch::randn({2, 8, 4}, torch::kFloat64);
  EXPECT_FALSE(strided_attention_applies(q, k, k));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(strided_attention_applies(q, k, k));
  // A strided last dim or a non-broadcasting batch goes to the copying path.
  EXPECT_FALSE(strided_attention_applies(k.transpose(1, 2), k, k));
  EXPECT_FALSE(strided_attention_applies(torch::randn({3, 8, 4}, torch::kFloat64), k, k));
}

}  // namespace
}  // namespace elit::models
