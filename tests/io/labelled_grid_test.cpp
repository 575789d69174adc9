// The PNG grid with captions drawn into it: cells land where the layout says, magnified; every
// caption leaves ink in its own place; bytes that are not printable ASCII are drawn, not crashed.
#include "elit/io/labelled_grid.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

// Dark pixels in a region of a [H, W, 3] canvas.
int64_t ink(const torch::Tensor& canvas, int64_t y, int64_t x, int64_t h, int64_t w) {
  return (canvas.narrow(0, y, h).narrow(1, x, w) < 128).sum().item<int64_t>();
}

TEST(LabelledGrid, CellsAreMagnifiedAndCaptionsInked) {
  // Four 4x4 grey images with values 10, 60, 110, 160, two per row, magnified 3x.
  auto images = torch::empty({4, 4, 4, 1}, torch::kUInt8);
  for (int i = 0; i < 4; ++i) images[i].fill_(10 + 50 * i);
  const auto canvas =
      labelled_grid_image(images, 2, {"row one", "row two"}, {"A", "B"}, "title", 3);
  ASSERT_EQ(canvas.dim(), 3);
  EXPECT_EQ(canvas.size(2), 3);
  // The bottom-right cell is image 3, every pixel 160 in all channels, 12x12 pixels.
  const int64_t H = canvas.size(0), W = canvas.size(1);
  const auto corner = canvas.narrow(0, H - 8 - 12, 12).narrow(1, W - 8 - 12, 12);
  EXPECT_TRUE((corner == 160).all().item<bool>());
  // Ink: the title at the top-left, row captions left of the cells.
  EXPECT_GT(ink(canvas, 0, 0, 30, W), 0);
  EXPECT_GT(ink(canvas, H - 8 - 12, 0, 12, 50), 0);
  // Without captions or title, the canvas is just the cells, margins and padding.
  const auto bare = labelled_grid_image(images, 2, {}, {}, "", 1);
  EXPECT_EQ(bare.size(0), 8 + 4 + 2 + 4 + 8);
  EXPECT_EQ(bare.size(1), 8 + 4 + 2 + 4 + 8);
}

TEST(LabelledGrid, OddTextAndBadInputs) {
  auto canvas = torch::full({20, 200, 3}, 255, torch::kUInt8);
  draw_text(canvas, std::string("caf\xc3\xa9 \x01 ok"), 0, 0, 1);  // UTF-8 and control bytes
  EXPECT_GT(ink(canvas, 0, 0, 20, 200), 0);
  draw_text(canvas, "far outside", 5000, 5000, 2);  // clipped, no crash
  const auto images = torch::zeros({1, 4, 4, 3}, torch::kUInt8);
  EXPECT_THROW(labelled_grid_image(images.to(torch::kFloat32), 1, {}, {}, "", 1), Error);
  EXPECT_THROW(labelled_grid_image(images, 0, {}, {}, "", 1), Error);
  EXPECT_EQ(text_extent("", 2).first, 0);
  EXPECT_GT(text_extent("abc", 2).first, text_extent("abc", 1).first);
}

}  // namespace
}  // namespace elit::io
