#include <gtest/gtest.h>

#include "elit/models/latent_interface.h"

namespace elit::models {
namespace {

TEST(Grouping, RoundTripsOnSquareAndRectangularGrids) {
  for (auto [h, w, g] : {std::tuple{8, 8, 2}, std::tuple{8, 8, 4}, std::tuple{4, 12, 2},
                         std::tuple{6, 3, 3}, std::tuple{5, 5, 1}}) {
    GroupLayout l{h, w, g};
    auto x = torch::randn({3, h * w, 5});
    auto grouped = group_tokens(x, l);
    EXPECT_EQ(grouped.sizes(), (std::vector<int64_t>{3, l.groups(), g * g, 5}));
    EXPECT_TRUE(torch::equal(ungroup_tokens(grouped, l), x));
  }
}

TEST(Grouping, GroupsAreSpatialWindowsInRasterOrder) {
  // 4x4 grid, groups of 2x2: group 1 is the top-right window, slot order row-major in it.
  GroupLayout l{4, 4, 2};
  auto index = group_raster_index(l);
  EXPECT_EQ(index.sizes(), (std::vector<int64_t>{4, 4}));
  EXPECT_TRUE(torch::equal(index[0], torch::tensor({0, 1, 4, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(index[1], torch::tensor({2, 3, 6, 7}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(index[3], torch::tensor({10, 11, 14, 15}, torch::kInt64)));
}

TEST(Grouping, KeptLatentsAreTheFirstOfEveryGroupAndRestoreKeepsTheRest) {
  GroupLayout l{4, 4, 2};
  LatentTokens lt;
  lt.layout = l;
  lt.keep = 3;
  lt.latents = torch::randn({2, 4, 4, 6});
  auto kept = lt.kept();
  EXPECT_EQ(kept.sizes(), (std::vector<int64_t>{2, 12, 6}));
  EXPECT_TRUE(torch::equal(kept.view({2, 4, 3, 6}), lt.latents.narrow(2, 0, 3)));
  auto updated = kept * 2;
  auto restored = lt.restore(updated);
  EXPECT_TRUE(torch::equal(restored.narrow(2, 0, 3), lt.latents.narrow(2, 0, 3) * 2));
  EXPECT_TRUE(torch::equal(restored.narrow(2, 3, 1), lt.latents.narrow(2, 3, 1)));
}

}  // namespace
}  // namespace elit::models
