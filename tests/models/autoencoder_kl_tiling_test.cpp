// Tiled VAE decode and encode: exact when one tile covers the image, close to the untiled result
// when tiles overlap (GroupNorm and attention then see one tile at a time), and tile positions
// that cover every side.
#include "elit/models/autoencoder_kl_tiling.h"

#include <gtest/gtest.h>

#include "support/error_of.h"

namespace elit::models {
namespace {

AutoencoderKLConfig tiny() {
  AutoencoderKLConfig c;
  c.ch = 32;
  c.ch_mult = {1, 2, 2};  // f = 4
  c.num_res_blocks = 1;
  return c;
}

// A smooth test image: tiling errors come from the tile borders, not from noise.
torch::Tensor smooth_image(int64_t h, int64_t w) {
  auto y = torch::linspace(-1, 1, h).view({1, 1, h, 1});
  auto x = torch::linspace(-1, 1, w).view({1, 1, 1, w});
  return torch::cat({(3 * x).sin() * (2 * y).cos(), x * y, (x + y) / 2}, 1) * 0.8;  // [1, 3, h, w]
}

TEST(VAETiling, TileStartsCoverTheSideAndStayAligned) {
  EXPECT_EQ(tile_starts(64, 64, 16, 1), std::vector<int64_t>{0});
  EXPECT_EQ(tile_starts(40, 64, 16, 1), std::vector<int64_t>{0});
  EXPECT_EQ(tile_starts(64, 32, 8, 1), (std::vector<int64_t>{0, 24, 32}));
  for (const auto& s : tile_starts(100, 32, 8, 4)) EXPECT_EQ(s % 4, 0);
  EXPECT_EQ(tile_starts(100, 32, 8, 4).back(), 68);
}

TEST(VAETiling, OneTileCoveringTheImageIsExact) {
  torch::manual_seed(0);
  AutoencoderKL vae(tiny());
  vae->eval();
  torch::NoGradGuard no_grad;
  const auto x = smooth_image(32, 24);
  const auto p = vae->encode(x);
  const auto tiled = encode_tiled(*vae, x, {/*tile=*/32});
  EXPECT_TRUE(torch::equal(tiled.mean, p.mean));
  EXPECT_TRUE(torch::equal(tiled.logvar, p.logvar));
  EXPECT_TRUE(torch::equal(decode_tiled(*vae, p.mean, {/*tile=*/64}), vae->decode(p.mean)));
}

// The blending itself is exact: a position-wise code (nearest upsampling, what a decoder without
// GroupNorm/attention statistics would be locally) gives the untiled result wherever tiles overlap.
TEST(VAETiling, BlendingReproducesAPositionwiseCodeExactly) {
  const auto z = torch::randn({2, 3, 23, 17}, torch::kFloat64);
  auto up = [](const torch::Tensor& t) {
    return t.repeat_interleave(4, 2).repeat_interleave(4, 3);
  };
  const auto tiled = run_tiled(z, {/*in_tile=*/8, /*in_overlap=*/3, /*align=*/1, 4, 1}, up);
  EXPECT_LT((tiled - up(z)).abs().max().item<double>(), 1e-12);
  auto down = [](const torch::Tensor& t) { return torch::avg_pool2d(t, 4); };
  const auto x = torch::randn({1, 2, 64, 40}, torch::kFloat64);
  const auto pooled = run_tiled(x, {/*in_tile=*/24, /*in_overlap=*/8, /*align=*/4, 1, 4}, down);
  EXPECT_LT((pooled - down(x)).abs().max().item<double>(), 1e-12);
}

// With a network whose GroupNorm and mid attention see one tile at a time, the result differs
// from the untiled one by an amount that depends on the weights (docs/latent.md gives measured
// figures for trained weights); here only shape and finiteness are checked.
TEST(VAETiling, OverlappingTilesGiveAFullImage) {
  torch::manual_seed(1);
  AutoencoderKL vae(tiny());
  vae->eval();
  torch::NoGradGuard no_grad;
  const auto x = smooth_image(96, 64);
  const auto p = vae->encode(x);
  const auto tiled = decode_tiled(*vae, p.mean, {/*tile=*/48, /*overlap=*/16});
  EXPECT_EQ(tiled.sizes(), (torch::IntArrayRef{1, 3, 96, 64}));
  EXPECT_TRUE(tiled.isfinite().all().item<bool>());
  const auto enc = encode_tiled(*vae, x, {/*tile=*/48, /*overlap=*/16});
  EXPECT_EQ(enc.mean.sizes(), p.mean.sizes());
  EXPECT_TRUE(enc.logvar.isfinite().all().item<bool>());
}

TEST(VAETiling, RejectsTilesThatDoNotFitTheLatentGrid) {
  AutoencoderKL vae(tiny());
  const auto z = torch::zeros({1, 4, 8, 8});
  EXPECT_NE(testing::error_of([&] {
              decode_tiled(*vae, z, {/*tile=*/30});
            }).find("multiple of the downsample factor 4"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              decode_tiled(*vae, z, {/*tile=*/16, /*overlap=*/16});
            }).find("overlap"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::models
