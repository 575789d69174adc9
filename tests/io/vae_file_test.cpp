// Loading the KL autoencoder from every layout: ldm names bare and under first_stage_model.,
// diffusers folders with current and legacy attention names, elit's own file, a diffusers file
// written from the full SD-VAE's published names; and the errors for missing, unexpected and
// wrongly shaped keys.
#include "elit/io/vae_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elit/io/state_dict.h"
#include "elit/io/vae_keys.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::io {
namespace {

models::AutoencoderKLConfig tiny_config() {
  models::AutoencoderKLConfig c;
  c.ch = 32;
  c.ch_mult = {1, 2};
  c.num_res_blocks = 1;
  c.resolution = 16;
  c.attn_resolutions = {8};  // attention inside level 1 too
  c.z_channels = c.embed_dim = 3;
  return c;
}

// Output of a model on fixed inputs, to compare a loaded copy with the original.
torch::Tensor signature(models::AutoencoderKLImpl& vae) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  const auto x = torch::rand({1, 3, 16, 16}) * 2 - 1;
  return vae.decode(vae.encode(x).mean);
}

struct Tiny {
  models::AutoencoderKL vae{tiny_config()};
  TensorMap ldm = state_dict(*vae);
  torch::Tensor expected = signature(*vae);
};

void expect_same(const std::string& path, const Tiny& t, const std::string& layout,
                 const std::optional<nlohmann::json>& config = {}) {
  const auto file = read_vae_file(path, config);
  EXPECT_EQ(file.layout, layout) << path;
  auto loaded = build_vae(file);
  EXPECT_TRUE(torch::equal(signature(*loaded), t.expected)) << path;
}

nlohmann::json diffusers_config() {
  return {{"_class_name", "AutoencoderKL"},
          {"block_out_channels", {32, 64}},
          {"down_block_types", {"DownEncoderBlock2D", "AttnDownEncoderBlock2D"}},
          {"up_block_types", {"AttnUpDecoderBlock2D", "UpDecoderBlock2D"}},
          {"latent_channels", 3},
          {"layers_per_block", 1},
          {"sample_size", 16}};
}

TEST(VAEFile, LoadsLdmBareAndStableDiffusionAndElitLayouts) {
  torch::manual_seed(0);
  Tiny t;
  const auto dir = testing::temp_dir("vae_layouts");
  write_safetensors(dir + "/bare.safetensors", t.ldm);
  expect_same(dir + "/bare.safetensors", t, "ldm", autoencoder_kl_config_to_json(tiny_config()));
  // Without a config, the shapes give it (attention levels at 256 >> level, same network).
  expect_same(dir + "/bare.safetensors", t, "ldm");
  TensorMap sd;
  for (const auto& [k, v] : t.ldm) sd["first_stage_model." + k] = v;
  sd["model.diffusion_model.out.2.weight"] = torch::zeros({4, 4});  // the rest of an SD file
  sd["cond_stage_model.transformer.x"] = torch::zeros({2});
  write_safetensors(dir + "/sd.safetensors", sd);
  expect_same(dir + "/sd.safetensors", t, "stable-diffusion");
  write_vae_file(dir + "/elit.safetensors", *t.vae);
  expect_same(dir + "/elit.safetensors", t, "elit");
  EXPECT_EQ(read_vae_file(dir + "/elit.safetensors").config.attn_resolutions,
            std::vector<int64_t>{8});
}

TEST(VAEFile, LoadsDiffusersFoldersWithCurrentAndLegacyAttention) {
  torch::manual_seed(1);
  Tiny t;
  const auto root = testing::temp_dir("vae_diffusers");
  for (bool legacy : {false, true}) {
    const auto dir = root + (legacy ? "/legacy" : "/current") + "/vae";
    std::filesystem::create_directories(dir);
    const auto weights = ldm_vae_to_diffusers(t.ldm, legacy);
    const std::string q = legacy ? "encoder.mid_block.attentions.0.query.weight"
                                 : "encoder.mid_block.attentions.0.to_q.weight";
    ASSERT_TRUE(weights.count(q)) << q;
    EXPECT_EQ(weights.at(q).dim(), legacy ? 4 : 2);  // 1x1 conv vs Linear
    EXPECT_TRUE(weights.count("decoder.up_blocks.0.attentions.0.group_norm.weight"));
    EXPECT_TRUE(weights.count("decoder.up_blocks.0.upsamplers.0.conv.weight"));
    EXPECT_TRUE(weights.count("encoder.down_blocks.1.resnets.0.conv_shortcut.weight"));
    EXPECT_TRUE(weights.count("encoder.conv_norm_out.weight"));
    write_safetensors(dir + "/diffusion_pytorch_model.safetensors", weights);
    std::ofstream(dir + "/config.json") << diffusers_config().dump();
    // The pipeline folder (vae/ inside), the VAE folder, and the weights file alone.
    expect_same(std::filesystem::path(dir).parent_path(), t, "diffusers");
    expect_same(dir, t, "diffusers");
    expect_same(dir + "/diffusion_pytorch_model.safetensors", t, "diffusers");
    EXPECT_EQ(diffusers_vae_to_ldm(weights, "x").size(), t.ldm.size());
  }
}

TEST(VAEFile, NamesMissingUnexpectedAndMisshapenKeys) {
  torch::manual_seed(2);
  Tiny t;
  const auto dir = testing::temp_dir("vae_errors");
  const auto config = autoencoder_kl_config_to_json(tiny_config());
  auto write_and_error = [&](const TensorMap& w, const std::string& name) {
    write_safetensors(dir + "/" + name, w);
    return testing::error_of([&] { load_vae(dir + "/" + name, config); });
  };
  auto missing = t.ldm;
  missing.erase("decoder.up.1.upsample.conv.bias");
  auto msg = write_and_error(missing, "missing.safetensors");
  EXPECT_NE(msg.find("missing (1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.up.1.upsample.conv.bias"), std::string::npos) << msg;
  auto extra = t.ldm;
  extra["encoder.down.0.attn.5.q.weight"] = torch::zeros({32, 32, 1, 1});
  msg = write_and_error(extra, "extra.safetensors");
  EXPECT_NE(msg.find("unexpected (1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("encoder.down.0.attn.5.q.weight"), std::string::npos) << msg;
  auto shape = t.ldm;
  shape["quant_conv.weight"] = torch::zeros({6, 6, 3, 3});
  msg = write_and_error(shape, "shape.safetensors");
  EXPECT_NE(msg.find("shape mismatch (1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("quant_conv.weight"), std::string::npos) << msg;
  auto diffusers = ldm_vae_to_diffusers(t.ldm);
  diffusers["encoder.mid_block.attentions.0.to_qq.weight"] = torch::zeros({2, 2});
  write_safetensors(dir + "/bad_diffusers.safetensors", diffusers);
  msg = testing::error_of([&] { read_vae_file(dir + "/bad_diffusers.safetensors", config); });
  EXPECT_NE(msg.find("'encoder.mid_block.attentions.0.to_qq.weight' is not a key of a diffusers"),
            std::string::npos)
      << msg;
  std::filesystem::create_directories(dir + "/empty");
  msg = testing::error_of([&] { read_vae_file(dir + "/empty"); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  write_safetensors(dir + "/unet.safetensors", {{"blocks.0.attn.qkv.weight", torch::zeros({2})}});
  msg = testing::error_of([&] { read_vae_file(dir + "/unet.safetensors"); });
  EXPECT_NE(msg.find("encoder.conv_in.weight"), std::string::npos) << msg;
}

// A diffusers file with the full SD-VAE's tensors (named from the published key list, stored as
// float16 zeros to stay small) loads into the default configuration, which its shapes imply.
TEST(VAEFile, DiffusersFileFromPublishedSDVAENamesLoads) {
  ELIT_REQUIRE_REFERENCE(ref);
  std::ifstream in(ref + "/vae/sd_vae_keys.json");
  const auto keys = nlohmann::json::parse(in)["keys"];
  TensorMap ldm;
  for (const auto& [name, shape] : keys.items()) {
    ldm[name] = torch::zeros(shape.get<std::vector<int64_t>>(), torch::kFloat16);
  }
  const auto dir = testing::temp_dir("vae_sd_diffusers");
  write_safetensors(dir + "/diffusion_pytorch_model.safetensors", ldm_vae_to_diffusers(ldm));
  ldm.clear();
  const auto file = read_vae_file(dir + "/diffusion_pytorch_model.safetensors");
  EXPECT_EQ(file.layout, "diffusers");
  EXPECT_EQ(autoencoder_kl_config_to_json(file.config),
            autoencoder_kl_config_to_json(models::AutoencoderKLConfig{}));
  EXPECT_EQ(file.weights.size(), keys.size());
  for (const auto& [name, tensor] : file.weights) {
    ASSERT_TRUE(keys.contains(name)) << name;
    EXPECT_EQ(tensor.sizes().vec(), keys[name].get<std::vector<int64_t>>()) << name;
  }
  auto vae = build_vae(file);
  EXPECT_EQ(vae->decoder->conv_out->weight.abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace elit::io
