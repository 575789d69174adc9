// TorchScript feature networks: the Inception-interface extractor against the reference file's
// own outputs (features, probabilities with and without the output bias, layers.mixed_6.conv),
// and the DINOv2 preprocessing on its own.
#include <gtest/gtest.h>

#include "elit/io/safetensors.h"
#include "elit/metrics/feature_network.h"
#include "elit/metrics/torchscript_features.h"
#include "elit/runtime/error.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

using elit::testing::error_of;

struct TinyInception {
  std::string path;
  io::TensorMap expected;
  torch::Tensor images;  // uint8 [4, 20, 20, 3]
};

TinyInception tiny(const std::string& dir) {
  TinyInception t;
  t.path = dir + "/metrics/tiny_inception_like.pt";
  t.expected =
      io::read_safetensors(dir + "/metrics/tiny_inception_like.expected.safetensors").tensors;
  // input.img_u8_as_i64: [4, 3, 20, 20] NCHW -> our NHWC uint8 layout
  t.images = t.expected.at("input.img_u8_as_i64").permute({0, 2, 3, 1}).to(torch::kUInt8);
  return t;
}

// The file computes in float32; the reference stored its outputs as float64.
constexpr double kFloat32Tolerance = 1e-5;

TEST(InceptionFeatures, MatchesTheReferenceOutputs) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto t = tiny(dir);
  InceptionFeatures net(t.path);
  ASSERT_TRUE(net.has_spatial());
  const auto out = net.extract(t.images);
  EXPECT_LT(testing::max_rel_error(out.features, t.expected.at("output.features")),
            kFloat32Tolerance);
  EXPECT_LT(testing::max_rel_error(out.probs, t.expected.at("output.probs_no_bias")),
            kFloat32Tolerance);
  EXPECT_LT(testing::max_rel_error(net.probabilities(t.images, /*no_output_bias=*/false),
                                   t.expected.at("output.probs")),
            kFloat32Tolerance);
  EXPECT_LT(testing::max_rel_error(net.probabilities(t.images, /*no_output_bias=*/true),
                                   t.expected.at("output.probs_no_bias")),
            kFloat32Tolerance);
  const auto& conv = t.expected.at("output.mixed_6_conv");  // [4, 12, 8, 8]
  EXPECT_LT(testing::max_rel_error(net.mixed_6_conv(t.images), conv), kFloat32Tolerance);
  // sFID features: the first 7 channels, flattened in (H, W, C) order.
  const auto spatial = conv.slice(1, 0, 7).permute({0, 2, 3, 1}).reshape({4, 8 * 8 * 7});
  EXPECT_LT(testing::max_rel_error(out.spatial, spatial), kFloat32Tolerance);
}

TEST(InceptionFeatures, RepeatsGreyToThreeChannelsAndBatches) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto t = tiny(dir);
  InceptionFeatures net(t.path);
  const auto grey = t.images.select(3, 1).unsqueeze(3);  // [4, 20, 20, 1]
  const auto a = net.extract(grey);
  const auto b = net.extract(grey.expand({-1, -1, -1, 3}).contiguous());
  EXPECT_TRUE(a.features.equal(b.features));
  EXPECT_TRUE(a.spatial.equal(b.spatial));
  const auto all = extract_features(net, t.images, /*batch_size=*/3);
  EXPECT_LT(testing::max_rel_error(all.features, t.expected.at("output.features")),
            kFloat32Tolerance);
  EXPECT_EQ(all.spatial.sizes(), (std::vector<int64_t>{4, 448}));
  EXPECT_EQ(net.name().rfind("inception:tiny_inception_like.pt:", 0), 0u) << net.name();
}

TEST(TorchScriptFeatures, ReportsFilesThatCannotBeLoaded) {
  ELIT_REQUIRE_REFERENCE(dir);
  EXPECT_NE(
      error_of([&] { InceptionFeatures("/nonexistent/inception.pt"); }).find("does not exist"),
      std::string::npos);
  const auto msg = error_of([&] { InceptionFeatures(dir + "/metrics/ref_batch.npz"); });
  EXPECT_NE(msg.find("cannot load TorchScript file"), std::string::npos) << msg;
  const auto t = tiny(dir);
  InceptionFeatures net(t.path);
  EXPECT_NE(error_of([&] { net.extract(t.images.to(torch::kFloat32)); }).find("uint8"),
            std::string::npos);
  EXPECT_NE(error_of([&] { net.extract(t.images.slice(3, 0, 2)); }).find("C = 1 or 3"),
            std::string::npos);
}

TEST(Dinov2Preprocessing, ScalesResizesAndNormalises) {
  const auto p = dinov2_preprocessing();
  EXPECT_EQ(p.size, 224);
  EXPECT_TRUE(p.bicubic_antialias);
  // A constant image stays constant through the resize: (v / 255 - mean_c) / std_c.
  const auto image = torch::full({2, 28, 28, 1}, 200, torch::kUInt8);
  const auto x = preprocess_images(image, p);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, 3, 224, 224}));
  for (int c = 0; c < 3; ++c) {
    const double expected = (200.0 / 255.0 - p.mean[c]) / p.std[c];
    EXPECT_NEAR(x.select(1, c).min().item<double>(), expected, 1e-5);
    EXPECT_NEAR(x.select(1, c).max().item<double>(), expected, 1e-5);
  }
  // Grey is repeated to RGB before normalising; the resize is antialiased bicubic (a = -0.5, as
  // PIL and torch's antialias=True use), which differs from plain bicubic (a = -0.75).
  const auto noise = torch::randint(0, 256, {1, 32, 32, 1}).to(torch::kUInt8);
  const auto y = preprocess_images(noise, p);
  const auto unnormalised = y.select(1, 2) * p.std[2] + p.mean[2];
  EXPECT_LT((y.select(1, 0) * p.std[0] + p.mean[0] - unnormalised).abs().max().item<double>(),
            1e-5);
  const auto raw = noise.permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0;
  const auto aa = torch::_upsample_bicubic2d_aa(raw, {224, 224}, false);
  EXPECT_LT((unnormalised - aa.select(1, 0)).abs().max().item<double>(), 1e-5);
  const auto plain = torch::upsample_bicubic2d(raw, {224, 224}, false);
  EXPECT_GT((unnormalised - plain.select(1, 0)).abs().max().item<double>(), 1e-3);
}

TEST(TorchScriptFeatures, KeepsTheClsTokenOfAnyTorchScriptExtractor) {
  // A stand-in for a DINOv2 export, written as TorchScript from C++: tokens [B, 5, 2] whose
  // token 0 is (mean, max) of the preprocessed image.
  torch::jit::Module m("FakeViT");
  m.define(R"(
def forward(self, x):
    cls = torch.stack([x.mean([1, 2, 3]), x.amax([1, 2, 3])], 1)
    return torch.stack([cls, cls * 0.0, cls * 0.0, cls * 0.0, cls * 0.0], 1)
)");
  const auto path = testing::temp_dir("torchscript_features") + "/fake_vit.pt";
  m.save(path);
  TorchScriptFeatures net(path, dinov2_preprocessing(), torch::kCPU, "dinov2");
  const auto images = torch::randint(0, 256, {3, 16, 16, 3}).to(torch::kUInt8);
  const auto out = net.extract(images);
  const auto x = preprocess_images(images, dinov2_preprocessing());
  const auto expected = torch::stack({x.mean({1, 2, 3}), x.amax({1, 2, 3})}, 1);
  EXPECT_EQ(out.features.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_LT((out.features - expected).abs().max().item<double>(), 1e-6);
  EXPECT_FALSE(net.has_probs());
  EXPECT_EQ(net.name().rfind("dinov2:fake_vit.pt:", 0), 0u);
}

}  // namespace
}  // namespace elit::metrics
