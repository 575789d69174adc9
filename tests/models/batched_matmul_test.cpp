// batched_matmul's own CPU path (a BLAS call per matrix) agrees with torch::bmm in value and
// gradient, for contiguous, transposed, sliced and broadcast operands.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/models/batched_matmul.h"
#include "elit/runtime/error.h"

namespace {

using elit::models::batched_matmul;
using elit::models::uses_own_cpu_path;

struct Shape {
  int64_t batch, m, k, n;
};

void expect_matches_bmm(const Shape& s, torch::Dtype dtype, double tolerance) {
  torch::manual_seed(0);
  auto a = torch::randn({s.batch, s.m, s.k}, dtype).requires_grad_();
  auto b = torch::randn({s.batch, s.k, s.n}, dtype).requires_grad_();
  ASSERT_TRUE(uses_own_cpu_path(a, b)) << s.m << "x" << s.k << "x" << s.n;
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

// Group-attention sizes, odd sizes, and a short batch of larger matrices (run serially, the
// threads left to the BLAS).
const Shape kShapes[] = {{4096, 4, 32, 4}, {512, 4, 4, 32},  {300, 7, 13, 5},
                         {64, 16, 20, 17}, {40, 64, 32, 64}, {3, 70, 50, 90}};

TEST(BatchedMatmul, MatchesBmmInFloat64) {
  for (const auto& s : kShapes) expect_matches_bmm(s, torch::kFloat64, 1e-12);
}

TEST(BatchedMatmul, MatchesBmmInFloat32) {
  for (const auto& s : kShapes) expect_matches_bmm(s, torch::kFloat32, 1e-5);
}

TEST(BatchedMatmul, NonContiguousOperands) {
  torch::manual_seed(1);
  for (const int64_t size : {4, 48}) {
    auto a = torch::randn({16, size + 5, size}, torch::kFloat64).transpose(1, 2);
    auto b = torch::randn({16, size + 3, size + 5}, torch::kFloat64).transpose(1, 2);
    EXPECT_TRUE(torch::allclose(batched_matmul(a, b), torch::bmm(a, b), 1e-12, 1e-12)) << size;
    // A broadcast (stride-0) batch and a strided slice.
    auto shared = torch::randn({1, size, size + 5}, torch::kFloat64).expand({16, size, size + 5});
    auto sliced = torch::randn({16, size + 5, 2 * size}, torch::kFloat64).narrow(2, 1, size);
    EXPECT_TRUE(
        torch::allclose(batched_matmul(shared, sliced), torch::bmm(shared, sliced), 1e-12, 1e-12))
        << size;
  }
}

TEST(BatchedMatmul, LowPrecisionProductsGoToBmm) {
  auto bf_a = torch::randn({8, 4, 4}, torch::kBFloat16),
       bf_b = torch::randn({8, 4, 4}, torch::kBFloat16);
  EXPECT_FALSE(uses_own_cpu_path(bf_a, bf_b));
  EXPECT_TRUE(torch::equal(batched_matmul(bf_a, bf_b), torch::bmm(bf_a, bf_b)));
}

TEST(BatchedMatmul, RejectsMismatchedShapes) {
  EXPECT_THROW(batched_matmul(torch::randn({4, 3, 5}), torch::randn({4, 4, 2})), elit::Error);
  EXPECT_THROW(batched_matmul(torch::randn({4, 3, 5}), torch::randn({3, 5, 2})), elit::Error);
}

}  // namespace
