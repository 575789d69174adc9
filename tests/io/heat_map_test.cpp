// Heat maps: every map scaled by its own peak (0 -> the colormap's dark end, the peak -> its light
// end), magnified by whole pixels, and blended over the image by the given opacity.
#include "elit/io/heat_map.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

TEST(HeatMap, ScalesEachMapByItsPeakAndMagnifies) {
  // Two 2x2 maps; the second is the first times 10, so they draw the same picture.
  const auto first = torch::tensor({{0.f, 1.f}, {2.f, 4.f}});
  const auto maps = torch::stack({first, first * 10});
  const auto img = heat_map_images(maps, 4, 6);  // 2x and 3x magnification
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{2, 4, 6, 3}));
  EXPECT_EQ(img.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(img[0], img[1]));
  EXPECT_TRUE(torch::equal(img[0][0][0], torch::tensor({0, 0, 4}, torch::kUInt8)));        // zero
  EXPECT_TRUE(torch::equal(img[0][3][5], torch::tensor({252, 255, 164}, torch::kUInt8)));  // peak
  EXPECT_TRUE(torch::equal(img[0][1][2], img[0][0][0]));  // the same 2x3 block
  // Brighter for larger values: the colormap rises in luminance.
  const auto luma = img[0].to(torch::kFloat32).sum(-1);
  EXPECT_LT(luma[0][3].item<float>(), luma[2][0].item<float>());
  EXPECT_LT(luma[2][0].item<float>(), luma[2][3].item<float>());
  // An all-zero map is dark, not NaN.
  EXPECT_EQ(heat_map_images(torch::zeros({1, 2, 2}), 2, 2).max().item<uint8_t>(), 4);
}

TEST(HeatMap, BlendsOverTheImage) {
  const auto maps = torch::rand({1, 2, 2});
  const auto image = torch::full({1, 4, 4, 1}, 200, torch::kUInt8);
  EXPECT_TRUE(torch::equal(heat_map_images(maps, 4, 4, image, 0.0),
                           torch::full({1, 4, 4, 3}, 200, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(heat_map_images(maps, 4, 4, image, 1.0), heat_map_images(maps, 4, 4)));
  EXPECT_THROW(heat_map_images(maps, 5, 4), Error);  // 5 is not 2k
  EXPECT_THROW(heat_map_images(maps, 4, 4, torch::zeros({1, 4, 4, 2}, torch::kUInt8)), Error);
  EXPECT_THROW(heat_map_images(torch::full({1, 2, 2}, NAN), 2, 2), Error);
}

}  // namespace
}  // namespace elit::io
