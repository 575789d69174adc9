// AutoencoderKL (SD-VAE) against the published ldm code: encode/posterior/decode parity on both
// reference cases in float64 and float32, the full-size SD-VAE's parameter names and shapes, and
// the configuration readers (ldm ddconfig, diffusers config.json) with their errors.
#include "elit/models/autoencoder_kl.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "elit/io/safetensors.h"
#include "elit/io/state_dict.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::models {
namespace {

nlohmann::json vae_manifest(const std::string& ref) {
  std::ifstream in(ref + "/vae/manifest.json");
  return nlohmann::json::parse(in);
}

AutoencoderKLConfig case_config(const nlohmann::json& c) {
  return autoencoder_kl_config_from_json(
      {{"ddconfig", c["config"]}, {"embed_dim", c["embed_dim"]}});
}

void check_case(const std::string& ref, const nlohmann::json& c, torch::Dtype dtype, double tol) {
  const auto file = io::read_safetensors(ref + "/vae/" + c["file"].get<std::string>()).tensors;
  AutoencoderKL vae(case_config(c));
  io::load_state_dict(*vae, io::select_prefix(file, "weight."), c["file"]);
  // Every state_dict key of the published model, in the published order.
  std::vector<std::string> names;
  for (const auto& p : vae->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, c["state_dict_keys"].get<std::vector<std::string>>());
  vae->to(dtype);
  vae->eval();
  torch::NoGradGuard no_grad;
  auto in = [&](const char* key) { return file.at(key).to(dtype); };
  const auto posterior = vae->encode(in("input.x"));
  const std::vector<std::pair<std::string, torch::Tensor>> outputs = {
      {"mean", posterior.mean},
      {"logvar", posterior.logvar},
      {"sample", posterior.sample(in("input.eps"))},
      {"recon_of_mean", vae->decode(posterior.mean)},
      {"decode_z", vae->decode(in("input.z"))}};
  for (const auto& [name, value] : outputs) {
    const double err = testing::max_rel_error(value, file.at("output." + name));
    std::printf("%s %s %s: max relative error %.3g\n", c["name"].get<std::string>().c_str(),
                c10::toString(dtype), name.c_str(), err);
    EXPECT_LT(err, tol) << c["name"] << " " << name << " " << c10::toString(dtype);
  }
}

TEST(AutoencoderKL, MatchesPublishedLdmInFloat64) {
  ELIT_REQUIRE_REFERENCE(ref);
  const auto manifest = vae_manifest(ref);
  ASSERT_EQ(manifest["cases"].size(), 2u);
  for (const auto& c : manifest["cases"]) check_case(ref, c, torch::kFloat64, 1e-9);
}

TEST(AutoencoderKL, MatchesPublishedLdmInFloat32) {
  ELIT_REQUIRE_REFERENCE(ref);
  const auto manifest = vae_manifest(ref);
  ASSERT_EQ(manifest["cases"].size(), 2u);
  for (const auto& c : manifest["cases"]) check_case(ref, c, torch::kFloat32, 1e-4);
}

TEST(AutoencoderKL, DefaultConfigIsTheSDVAEWithItsPublishedNamesAndShapes) {
  ELIT_REQUIRE_REFERENCE(ref);
  std::ifstream in(ref + "/vae/sd_vae_keys.json");
  const auto expected = nlohmann::json::parse(in);
  const AutoencoderKLConfig defaults;
  EXPECT_EQ(autoencoder_kl_config_to_json(defaults)["ddconfig"], expected["ddconfig"]);
  EXPECT_EQ(defaults.embed_dim, expected["embed_dim"].get<int64_t>());
  EXPECT_EQ(defaults.scale_factor, 0.18215);
  EXPECT_EQ(defaults.downsample_factor(), 8);
  AutoencoderKL vae(defaults);
  const auto params = vae->named_parameters();
  EXPECT_EQ(params.size(), expected["keys"].size());
  int64_t count = 0;
  for (const auto& p : params) {
    ASSERT_TRUE(expected["keys"].contains(p.key())) << "unexpected parameter " << p.key();
    EXPECT_EQ(p.value().sizes().vec(), expected["keys"][p.key()].get<std::vector<int64_t>>())
        << p.key();
    count += p.value().numel();
  }
  EXPECT_EQ(count, expected["parameters"].get<int64_t>());
  EXPECT_TRUE(vae->named_buffers().is_empty());
}

TEST(AutoencoderKL, PosteriorClampsLogvarAndSamples) {
  auto moments = torch::randn({2, 8, 3, 3}, torch::kFloat64);
  moments.narrow(1, 4, 1).fill_(50.0);
  moments.narrow(1, 5, 1).fill_(-50.0);
  const auto p = DiagonalGaussian::from_moments(moments);
  EXPECT_EQ(p.logvar.max().item<double>(), 20.0);
  EXPECT_EQ(p.logvar.min().item<double>(), -30.0);
  const auto eps = torch::randn({2, 4, 3, 3}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(p.sample(eps), p.mean + (0.5 * p.logvar).exp() * eps));
  EXPECT_NE(testing::error_of([&] {
              p.sample(torch::randn({2, 4, 3, 2}));
            }).find("eps"),
            std::string::npos);
  // KL of the prior itself is zero.
  const auto prior = DiagonalGaussian::from_moments(torch::zeros({1, 8, 2, 2}, torch::kFloat64));
  EXPECT_EQ(prior.kl().item<double>(), 0.0);
}

TEST(AutoencoderKLConfig, LdmReaderAcceptsPublishedShapesAndNamesUnknownKeys) {
  const auto flat =
      autoencoder_kl_config_from_json({{"ch", 64},
                                       {"ch_mult", {1, 2}},
                                       {"attn_resolutions", nlohmann::json::array({16})},
                                       {"embed_dim", 3},
                                       {"z_channels", 3},
                                       {"scale_factor", 0.5}});
  EXPECT_EQ(flat.ch, 64);
  EXPECT_EQ(flat.ch_mult, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(flat.attn_resolutions, (std::vector<int64_t>{16}));
  EXPECT_EQ(flat.embed_dim, 3);
  EXPECT_EQ(flat.scale_factor, 0.5);
  // The published YAML's first_stage_config, as JSON.
  const auto yaml = autoencoder_kl_config_from_json(
      {{"target", "ldm.models.autoencoder.AutoencoderKL"},
       {"params",
        {{"embed_dim", 4},
         {"monitor", "val/rec_loss"},
         {"ddconfig", autoencoder_kl_config_to_json(AutoencoderKLConfig{})["ddconfig"]},
         {"lossconfig", {{"target", "torch.nn.Identity"}}}}}});
  EXPECT_EQ(autoencoder_kl_config_to_json(yaml),
            autoencoder_kl_config_to_json(AutoencoderKLConfig{}));
  const auto unknown = testing::error_of([] { autoencoder_kl_config_from_json({{"chmult", 2}}); });
  EXPECT_NE(unknown.find("unknown key 'chmult'"), std::string::npos) << unknown;
  const auto nested = testing::error_of([] {
    autoencoder_kl_config_from_json({{"ddconfig", {{"z_chanels", 4}}}});
  });
  EXPECT_NE(nested.find("'z_chanels'"), std::string::npos) << nested;
  const auto groups = testing::error_of([] { autoencoder_kl_config_from_json({{"ch", 48}}); });
  EXPECT_NE(groups.find("multiple of 32"), std::string::npos) << groups;
}

TEST(AutoencoderKLConfig, DiffusersReaderMapsToTheLdmConfig) {
  const nlohmann::json sd = {
      {"_class_name", "AutoencoderKL"},
      {"_diffusers_version", "0.21.0"},
      {"act_fn", "silu"},
      {"block_out_channels", {128, 256, 512, 512}},
      {"down_block_types", std::vector<std::string>(4, "DownEncoderBlock2D")},
      {"up_block_types", std::vector<std::string>(4, "UpDecoderBlock2D")},
      {"in_channels", 3},
      {"out_channels", 3},
      {"latent_channels", 4},
      {"layers_per_block", 2},
      {"norm_num_groups", 32},
      {"sample_size", 256},
      {"scaling_factor", 0.18215},
      {"force_upcast", true}};
  EXPECT_TRUE(is_diffusers_vae_config(sd));
  EXPECT_EQ(autoencoder_kl_config_to_json(autoencoder_kl_config_from_diffusers(sd)),
            autoencoder_kl_config_to_json(AutoencoderKLConfig{}));
  auto attn = sd;
  attn["down_block_types"][1] = "AttnDownEncoderBlock2D";
  attn["up_block_types"][2] = "AttnUpDecoderBlock2D";  // the same level, counted from the top
  EXPECT_EQ(autoencoder_kl_config_from_diffusers(attn).attn_resolutions,
            (std::vector<int64_t>{128}));
  auto bad = sd;
  bad["latent_chanels"] = 4;
  EXPECT_NE(testing::error_of([&] {
              autoencoder_kl_config_from_diffusers(bad);
            }).find("unknown key 'latent_chanels'"),
            std::string::npos);
  bad = sd;
  bad["act_fn"] = "gelu";
  EXPECT_NE(testing::error_of([&] { autoencoder_kl_config_from_diffusers(bad); }).find("gelu"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::models
