// batched_matmul's own loops (tiny matrices) agree with torch::bmm in value and gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/models/batched_matmul.h"
#include "elit/runtime/error.h"

namespace {

using elit::models::batched_matmul;
using elit::models::uses_small_matrix_kernel;

struct Shape {
  int64_t batch, m, k, n;
};

void expect_matches_bmm(const Shape& s, torch::Dtype dtype, double tolerance) {
  torch::manual_seed(0);
  auto a = torch::randn({s.batch, s.m, s.k}, dtype).requires_grad_();
  auto b = torch::randn({s.batch, s.k, s.n}, dtype).requires_grad_();
  ASSERT_TRUE(uses_small_matrix_kernel(a, b)) << s.m << "x" << s.k << "x" << s.n;
  auto grad_out = torch::randn({s.batch, s.m, s.n}, dtype);

  auto ours = batched_matmul(a, b);
  auto [ga, gb] = [&] {
    auto g = torch::autograd::grad({ours}, {a, b}, {grad_out});
    return std::make_pair(g[0], g[1]);
  }();
  auto expected = torch::bmm(a, b);
  auto g = torch::autograd::grad({expected}, {a, b}, {grad_out});

  EXPECT_TRUE(torch::allclose(ours, expected, tolerance, tolerance));
  EXPECT_TRUE(torch::allclose(ga, g[0], tolerance, tolerance));
  EXPECT_TRUE(torch::allclose(gb, g[1], tolerance, tolerance));
}

// Narrow outputs (dot-product loop) and wide ones (row loop), odd sizes for the loop tails.
const Shape kShapes[] = {{4096, 4, 32, 4}, {512, 4, 4, 32}, {300, 7, 13, 5}, {64, 16, 20, 17}};

TEST(BatchedMatmul, MatchesBmmInFloat64) {
  for (const auto& s : kShapes) expect_matches_bmm(s, torch::kFloat64, 1e-12);
}

TEST(BatchedMatmul, MatchesBmmInFloat32) {
  for (const auto& s : kShapes) expect_matches_bmm(s, torch::kFloat32, 1e-5);
}

TEST(BatchedMatmul, NonContiguousOperands) {
  torch::manual_seed(1);
  auto a = torch::randn({64, 9, 4}).transpose(1, 2);  // [64, 4, 9], strided
  auto b = torch::randn({64, 6, 9}).transpose(1, 2);  // [64, 9, 6]
  EXPECT_TRUE(torch::allclose(batched_matmul(a, b), torch::bmm(a, b), 1e-5, 1e-5));
}

TEST(BatchedMatmul, LargeAndLowPrecisionProductsGoToBmm) {
  auto big_a = torch::randn({2, 64, 64}), big_b = torch::randn({2, 64, 64});
  EXPECT_FALSE(uses_small_matrix_kernel(big_a, big_b));
  auto bf_a = torch::randn({8, 4, 4}, torch::kBFloat16),
       bf_b = torch::randn({8, 4, 4}, torch::kBFloat16);
  EXPECT_FALSE(uses_small_matrix_kernel(bf_a, bf_b));
  EXPECT_TRUE(torch::equal(batched_matmul(bf_a, bf_b), torch::bmm(bf_a, bf_b)));
}

TEST(BatchedMatmul, RejectsMismatchedShapes) {
  EXPECT_THROW(batched_matmul(torch::randn({4, 3, 5}), torch::randn({4, 4, 2})), elit::Error);
  EXPECT_THROW(batched_matmul(torch::randn({4, 3, 5}), torch::randn({3, 5, 2})), elit::Error);
}

}  // namespace
