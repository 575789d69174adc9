// The VAE on the command line: `elit vae encode/decode`, and `--vae` on `elit sample` and
// `elit budgets`, which then write RGB images decoded from a latent model's samples.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "elit/io/image.h"
#include "elit/io/npz.h"
#include "elit/runtime/atomic_file.h"
#include "support/reference.h"
#include "support/run_cli.h"
#include "support/tiny_latent_model.h"

namespace elit::sampling {
namespace {
namespace fs = std::filesystem;

// Every command runs single-threaded so that tests running in parallel do not compete.
testing::CliRun run_elit(const std::string& args) {
  return testing::run_elit("--threads 1 " + args);
}

TEST(VAECli, SampleAndBudgetsDecodeLatentsToRGB) {
  const auto s = testing::write_tiny_latent_model("vae_cli_sample");
  for (const std::string tile : {"0", "8"}) {
    const auto out = s.dir + "/samples-tile" + tile;
    const auto r = run_elit("sample --ckpt " + s.ckpt + " --vae " + s.vae + " --vae-tile " + tile +
                            " --classes 1,4 --num 4 --steps 2 --out " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto images = io::read_npz_array(out + "/samples.npz", "arr_0");
    EXPECT_EQ(images.sizes(), (torch::IntArrayRef{4, 16, 16, 3}));
    EXPECT_EQ(images.scalar_type(), torch::kUInt8);
    EXPECT_TRUE(fs::exists(out + "/images/000003.png"));
    EXPECT_EQ(io::read_image(out + "/grid.png").size(2), 3);
  }
  const auto r = run_elit("budgets --ckpt " + s.ckpt + " --vae " + s.vae +
                          " --classes 1,2 --budgets 0.25,1 --steps 2 --out " + s.dir + "/budgets");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(s.dir + "/budgets/grid.png"));
  EXPECT_TRUE(fs::exists(s.dir + "/budgets/grid.svg"));
  // The table says whether latency rises with the budget (on a tiny model it may not).
  const auto results = nlohmann::json::parse(read_file(s.dir + "/budgets/results.json"));
  EXPECT_TRUE(results["latency_monotone"].is_boolean()) << results.dump();
}

TEST(VAECli, EncodeThenDecodeImages) {
  const auto s = testing::write_tiny_latent_model("vae_cli_codec");
  fs::create_directories(s.dir + "/in");
  for (int i = 0; i < 3; ++i) {
    io::write_png(s.dir + "/in/" + std::to_string(i) + ".png",
                  torch::randint(0, 256, {12, 20, 3}, torch::kInt64).to(torch::kUInt8));
  }
  auto r = run_elit("vae encode --vae " + s.vae + " --images " + s.dir + "/in --resolution 8 " +
                    "--out " + s.dir + "/z.npz");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto z = io::read_npz_array(s.dir + "/z.npz", "arr_0");
  EXPECT_EQ(z.sizes(), (torch::IntArrayRef{3, 1, 4, 4}));
  EXPECT_EQ(io::read_npz_array(s.dir + "/z.npz", "mean_std").sizes(),
            (torch::IntArrayRef{3, 2, 4, 4}));
  r = run_elit("vae decode --vae " + s.vae + " --latents " + s.dir + "/z.npz --out " + s.dir +
               "/decoded");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(io::read_npz_array(s.dir + "/decoded/samples.npz", "arr_0").sizes(),
            (torch::IntArrayRef{3, 8, 8, 3}));
  EXPECT_TRUE(fs::exists(s.dir + "/decoded/images/000002.png"));
}

TEST(VAECli, ClearErrors) {
  const auto s = testing::write_tiny_latent_model("vae_cli_errors");
  // Images of different sizes without --resolution.
  fs::create_directories(s.dir + "/mixed");
  io::write_png(s.dir + "/mixed/a.png", torch::zeros({8, 8, 3}, torch::kUInt8));
  io::write_png(s.dir + "/mixed/b.png", torch::zeros({8, 16, 3}, torch::kUInt8));
  auto r = run_elit("vae encode --vae " + s.vae + " --images " + s.dir + "/mixed --out " + s.dir +
                    "/z.npz");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--resolution"), std::string::npos) << r.output;
  // Latents with the wrong channel count.
  io::write_npz(s.dir + "/bad.npz", {{"arr_0", torch::zeros({1, 3, 4, 4})}});
  r = run_elit("vae decode --vae " + s.vae + " --latents " + s.dir + "/bad.npz --out " + s.dir +
               "/x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("expected latents [N, 1, h, w]"), std::string::npos) << r.output;
  // A file that is not a VAE.
  r = run_elit("vae decode --vae " + s.ckpt + " --latents " + s.dir + "/bad.npz --out " + s.dir +
               "/x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("encoder.conv_in.weight"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace elit::sampling
