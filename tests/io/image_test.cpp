#include "elit/io/image.h"

#include <gtest/gtest.h>

#include <fstream>

#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {

TEST(Image, PngRoundTrip) {
  const auto dir = elit::testing::temp_dir("png");
  for (int64_t c : {1, 3}) {
    auto img = torch::randint(0, 256, {7, 5, c}, torch::kInt64).to(torch::kUInt8);
    write_png(dir + "/a.png", img);
    EXPECT_TRUE(torch::equal(read_image(dir + "/a.png"), img));
  }
}

TEST(Image, UnreadableImagesNameThePath) {
  const auto dir = elit::testing::temp_dir("badimg");
  std::ofstream(dir + "/broken.png") << "not a png";
  try {
    read_image(dir + "/broken.png");
    FAIL();
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos);
  }
  EXPECT_THROW(read_image(dir + "/missing.png"), elit::Error);
  EXPECT_THROW(write_png(dir + "/x.png", torch::zeros({4, 4, 2})), elit::Error);
}

TEST(Image, PublishedPixelConvention) {
  // 255 * (x + 1) / 2, clamped, truncated.
  auto x = torch::tensor({-2.0f, -1.0f, 0.0f, 0.999f, 1.0f, 3.0f}).view({1, 1, 1, 6});
  auto u = to_uint8_images(x);
  EXPECT_EQ(u.sizes(), (std::vector<int64_t>{1, 1, 6, 1}));
  std::vector<int> got;
  for (int i = 0; i < 6; ++i) got.push_back(u[0][0][i][0].item<uint8_t>());
  EXPECT_EQ(got, (std::vector<int>{0, 0, 127, 254, 255, 255}));
}

TEST(Image, GridLayout) {
  auto imgs = torch::full({5, 4, 3, 1}, 200, torch::kUInt8);
  auto grid = make_grid(imgs, /*columns=*/3, /*padding=*/1);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{2 * 5 + 1, 3 * 4 + 1, 1}));
  EXPECT_EQ(grid[0][0][0].item<uint8_t>(), 0);
  EXPECT_EQ(grid[1][1][0].item<uint8_t>(), 200);
  EXPECT_EQ(grid[6 + 1][2 * 4 + 1][0].item<uint8_t>(), 0);  // the 6th slot stays background
}

}  // namespace
}  // namespace elit::io
