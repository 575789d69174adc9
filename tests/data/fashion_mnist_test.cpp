#include "elit/data/fashion_mnist.h"

#include <gtest/gtest.h>

#include <fstream>

#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::data {
namespace {

TEST(FashionMnist, TestSplitHasBalancedClasses) {
  // Installed by scripts/setup.sh (Debian dataset-fashion-mnist).
  auto d = load_fashion_mnist("test");
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(d.labels.sizes(), (std::vector<int64_t>{10000}));
  auto counts = torch::bincount(d.labels);
  EXPECT_EQ(counts.size(0), 10);
  EXPECT_TRUE(torch::all(counts == 1000).item<bool>());
  EXPECT_GT(d.images.to(torch::kFloat32).mean().item<double>(), 20.0);  // not all black
  EXPECT_EQ(fashion_mnist_classes().size(), 10u);
  EXPECT_EQ(fashion_mnist_classes()[9], "Ankle boot");
}

TEST(FashionMnist, ModelSpacePadsToMinusOne) {
  auto img = torch::full({2, 28, 28}, 255, torch::kUInt8);
  auto x = to_model_space(img, 32);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  EXPECT_EQ(x[0][0][0][0].item<float>(), -1.0f);   // padding is black
  EXPECT_EQ(x[0][0][16][16].item<float>(), 1.0f);  // white pixel
  EXPECT_EQ(to_model_space(img, 16).sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
}

TEST(FashionMnist, MissingOrCorruptFilesAreClearErrors) {
  try {
    load_fashion_mnist("train", "/nonexistent");
    FAIL();
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos);
  }
  EXPECT_THROW(load_fashion_mnist("validation"), elit::Error);
  const auto dir = elit::testing::temp_dir("idx");
  std::ofstream(dir + "/bad.idx", std::ios::binary) << std::string("\x00\x00\x08\x03\x00\x00", 6);
  EXPECT_THROW(read_idx(dir + "/bad.idx"), elit::Error);
  std::ofstream(dir + "/bad.gz", std::ios::binary) << std::string("\x1f\x8b\x08\x00garbage", 11);
  EXPECT_THROW(read_idx(dir + "/bad.gz"), elit::Error);
}

}  // namespace
}  // namespace elit::data
