// Neighbourhood attention against a brute-force loop over every query's window, written from the
// NATTEN definition (window of kernel x kernel keys centred on the query, shifted inward at the
// borders), on square and non-square grids.
#include "elit/models/neighborhood_attention.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::models {
namespace {

// NATTEN's window start on one axis, as a plain branchy function (independent of the library).
int64_t natten_start(int64_t i, int64_t length, int64_t kernel) {
  const int64_t r = kernel / 2;
  if (i < r) return 0;
  if (i + r >= length) return length - kernel;
  return i - r;
}

// q, k, v: [B, H, W, d] -> [B, H, W, d], one query at a time.
torch::Tensor brute_force(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          int64_t kernel) {
  const int64_t B = q.size(0), H = q.size(1), W = q.size(2);
  auto out = torch::zeros_like(q);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < H; ++i) {
      for (int64_t j = 0; j < W; ++j) {
        const int64_t si = natten_start(i, H, kernel), sj = natten_start(j, W, kernel);
        auto keys =
            k[b].slice(0, si, si + kernel).slice(1, sj, sj + kernel).reshape({-1, q.size(3)});
        auto values =
            v[b].slice(0, si, si + kernel).slice(1, sj, sj + kernel).reshape({-1, q.size(3)});
        auto weights = torch::mv(keys, q[b][i][j]).softmax(0);  // [k*k]
        out[b][i][j] = torch::mv(values.t(), weights);
      }
    }
  }
  return out;
}

TEST(NeighborhoodAttention, MatchesBruteForceOnSquareAndNonSquareGrids) {
  torch::manual_seed(0);
  for (auto [h, w, kernel] : {std::tuple{7, 7, 3}, std::tuple{5, 9, 3}, std::tuple{9, 6, 5},
                              std::tuple{8, 11, 7}, std::tuple{5, 5, 5}, std::tuple{4, 6, 1}}) {
    auto q = torch::randn({2, h, w, 4}, torch::kFloat64);
    auto k = torch::randn({2, h, w, 4}, torch::kFloat64);
    auto v = torch::randn({2, h, w, 4}, torch::kFloat64);
    auto ours = neighborhood_attention(q, k, v, kernel);
    EXPECT_LT(testing::max_rel_error(ours, brute_force(q, k, v, kernel)), 1e-12)
        << h << "x" << w << " kernel " << kernel;
  }
}

TEST(NeighborhoodAttention, BorderQueriesSeeExactlyKernelSquaredKeys) {
  // 6x9 grid, kernel 5: the corner query (0, 0) sees rows 0..4 and columns 0..4, the query
  // (5, 8) rows 1..5 and columns 4..8, the query (3, 4) rows 1..5 and columns 2..6.
  auto index = neighborhood_index(6, 9, 5);
  EXPECT_EQ(index.sizes(), (std::vector<int64_t>{54, 25}));
  auto window = [](int64_t r0, int64_t c0) {
    std::vector<int64_t> keys;
    for (int64_t r = r0; r < r0 + 5; ++r) {
      for (int64_t c = c0; c < c0 + 5; ++c) keys.push_back(r * 9 + c);
    }
    return torch::tensor(keys, torch::kInt64);
  };
  EXPECT_TRUE(torch::equal(index[0], window(0, 0)));
  EXPECT_TRUE(torch::equal(index[5 * 9 + 8], window(1, 4)));
  EXPECT_TRUE(torch::equal(index[3 * 9 + 4], window(1, 2)));
  // Every query's window holds distinct keys: exactly kernel^2 of them.
  for (int64_t n = 0; n < 54; ++n) EXPECT_EQ(std::get<0>(torch::_unique(index[n])).numel(), 25);
}

TEST(NeighborhoodAttention, KernelCoveringTheGridIsGlobalAttention) {
  torch::manual_seed(1);
  auto q = torch::randn({3, 2, 5, 5, 8}, torch::kFloat64);  // leading [B, heads]
  auto k = torch::randn_like(q), v = torch::randn_like(q);
  auto flat = [](const torch::Tensor& t) { return t.flatten(2, 3); };
  auto global =
      torch::matmul(torch::matmul(flat(q), flat(k).transpose(-1, -2)).softmax(-1), flat(v));
  EXPECT_LT(testing::max_rel_error(neighborhood_attention(q, k, v, 5).flatten(2, 3), global),
            1e-12);
}

TEST(NeighborhoodAttention, GradientsFlowToQueriesKeysAndValues) {
  auto q = torch::randn({1, 6, 7, 4}, torch::requires_grad());
  auto k = torch::randn({1, 6, 7, 4}, torch::requires_grad());
  auto v = torch::randn({1, 6, 7, 4}, torch::requires_grad());
  neighborhood_attention(q, k, v, 3).pow(2).sum().backward();
  for (const auto& t : {q, k, v}) EXPECT_GT(t.grad().abs().sum().item<double>(), 0);
}

TEST(NeighborhoodAttention, RejectsEvenKernelsAndKernelsLargerThanTheGrid) {
  auto q = torch::randn({1, 6, 4, 2});
  EXPECT_THROW(neighborhood_attention(q, q, q, 4), Error);
  EXPECT_THROW(neighborhood_attention(q, q, q, 5), Error);
}

}  // namespace
}  // namespace elit::models
