#include "elit/models/autoencoder_kl_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "elit/runtime/config_schema.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

const char* kWhat = "AutoencoderKL config";

using C = AutoencoderKLConfig;

// ldm's ddconfig (Encoder/Decoder arguments).
const ConfigSchema<C>& ddconfig_schema() {
  static const auto s =
      ConfigSchema<C>(std::string(kWhat) + " ddconfig")
          .key("double_z", &C::double_z, "the encoder outputs mean and logvar (must be true)")
          .key("z_channels", &C::z_channels, "latent channels")
          .key("resolution", &C::resolution, "image size (decides where attention sits)")
          .key("in_channels", &C::in_channels, "image channels")
          .key("out_ch", &C::out_ch, "decoded channels")
          .key("ch", &C::ch, "base width")
          .key("ch_mult", &C::ch_mult, "width multiple per level")
          .key("num_res_blocks", &C::num_res_blocks, "ResNet blocks per level")
          .key("attn_resolutions", &C::attn_resolutions, "resolutions with attention")
          .key("dropout", &C::dropout, "dropout (inference never drops)");
  return s;
}

// ldm's AutoencoderKL arguments; the ddconfig keys may also stand at the top level (they win).
const ConfigSchema<C>& ldm_schema() {
  static const auto s = [] {
    ConfigSchema<C> schema(kWhat);
    schema.family("autoencoder_kl")
        .accepted("target", "the published ...AutoencoderKL class",
                  [](const nlohmann::json& t) {
                    check(t.is_string() &&
                              t.get<std::string>().find("AutoencoderKL") != std::string::npos,
                          kWhat, ": target must be an AutoencoderKL class, got ", t.dump());
                  })
        .custom(
            "ddconfig", "object", "ldm Encoder/Decoder arguments",
            [](const nlohmann::json& v, C& c) { ddconfig_schema().read(v, c); },
            [](const C& c, nlohmann::json& out) {
              out["ddconfig"] = ddconfig_schema().to_json(c);
            });
    for (const auto& k : ddconfig_schema().keys()) schema.custom(k.name, k.type, k.doc, k.read);
    schema.key("embed_dim", &C::embed_dim, "channels of the latent z")
        .key("scale_factor", &C::scale_factor, "latents = (z - shift_factor) * scale_factor")
        .key("shift_factor", &C::shift_factor, "see scale_factor")
        .key("norm_groups", &C::norm_groups, "GroupNorm groups")
        .own()
        .accepted("monitor", "training only")
        .accepted("lossconfig", "training only")
        .accepted("params", "the published first_stage_config's arguments (read instead)");
    return schema;
  }();
  return s;
}

// A diffusers block type list: the levels whose blocks carry attention (Attn* types).
std::vector<bool> attention_levels(const nlohmann::json& list, const char* key,
                                   const std::string& plain, const std::string& with_attn) {
  check(list.is_array(), kWhat, ": ", key, " must be a list, got ", list.dump());
  std::vector<bool> out;
  for (const auto& t : list) {
    const std::string type = t.is_string() ? t.get<std::string>() : t.dump();
    check(type == plain || type == with_attn, kWhat, ": ", key, " entry '", type,
          "' is not supported (expected ", plain, " or ", with_attn, ")");
    out.push_back(type == with_attn);
  }
  return out;
}

const char* kDiffusers = "diffusers AutoencoderKL config";

std::function<void(const nlohmann::json&)> text_is(const char* key, std::string want) {
  return [key, want](const nlohmann::json& v) {
    std::string got;
    config_value::read(v, got, std::string(kDiffusers) + ": key '" + key + "'");
    check(got == want, kDiffusers, ": ", key, " must be '", want, "', got '", got, "'");
  };
}

std::function<void(const nlohmann::json&)> layers_on(const char* key) {
  return [key](const nlohmann::json& v) {
    bool on = true;
    config_value::read(v, on, std::string(kDiffusers) + ": key '" + key + "'");
    check(on, kDiffusers, ": ", key, " = false is not supported (the ldm layout has these layers)");
  };
}

std::function<void(const nlohmann::json&)> not_supported(const char* key) {
  return [key](const nlohmann::json& v) {
    check(v.is_null(), kDiffusers, ": per-channel ", key,
          " is not supported (only scaling_factor and shift_factor)");
  };
}

// diffusers' config.json; the block lists are read together afterwards.
const ConfigSchema<C>& diffusers_schema() {
  static const auto s =
      ConfigSchema<C>(kDiffusers)
          .accepted("_class_name", "AutoencoderKL", text_is("_class_name", "AutoencoderKL"))
          .accepted("_diffusers_version", "informative")
          .accepted("_name_or_path", "informative")
          .accepted("act_fn", "silu", text_is("act_fn", "silu"))
          .accepted("block_out_channels", "width per level (read with the block types)")
          .accepted("down_block_types", "DownEncoderBlock2D | AttnDownEncoderBlock2D per level")
          .accepted("up_block_types", "UpDecoderBlock2D | AttnUpDecoderBlock2D per level")
          .key("in_channels", &C::in_channels, "image channels")
          .key("out_channels", &C::out_ch, "decoded channels")
          .custom("latent_channels", "int", "latent channels (z_channels and embed_dim)",
                  [](const nlohmann::json& v, C& c) {
                    config_value::read(v, c.z_channels,
                                       std::string(kDiffusers) + ": key 'latent_channels'");
                  })
          .key("layers_per_block", &C::num_res_blocks, "ResNet blocks per level")
          .key("norm_num_groups", &C::norm_groups, "GroupNorm groups")
          .key("sample_size", &C::resolution, "image size")
          .key("scaling_factor", &C::scale_factor, "latent scale")
          .custom("shift_factor", "float?", "latent shift; null: 0",
                  [](const nlohmann::json& v, C& c) {
                    if (!v.is_null())
                      config_value::read(v, c.shift_factor,
                                         std::string(kDiffusers) + ": key 'shift_factor'");
                  })
          .accepted("latents_mean", "only null", not_supported("latents_mean"))
          .accepted("latents_std", "only null", not_supported("latents_std"))
          .accepted("force_upcast", "no effect here")
          .accepted("use_quant_conv", "only true", layers_on("use_quant_conv"))
          .accepted("use_post_quant_conv", "only true", layers_on("use_post_quant_conv"))
          .accepted("mid_block_add_attention", "only true", layers_on("mid_block_add_attention"));
  return s;
}

}  // namespace

void AutoencoderKLConfig::validate() const {
  const std::string ctx = kWhat;
  check(double_z, ctx, ": double_z must be true (a KL autoencoder outputs mean and logvar)");
  check(z_channels > 0 && embed_dim > 0, ctx, ": z_channels and embed_dim must be > 0, got ",
        z_channels, " and ", embed_dim);
  check(in_channels > 0 && out_ch > 0, ctx, ": in_channels and out_ch must be > 0");
  check(!ch_mult.empty(), ctx, ": ch_mult must list at least one level");
  check(num_res_blocks >= 1, ctx, ": num_res_blocks must be >= 1, got ", num_res_blocks);
  check(norm_groups > 0, ctx, ": norm_groups must be > 0, got ", norm_groups);
  for (int64_t m : ch_mult) {
    check(m > 0 && ch > 0 && (ch * m) % norm_groups == 0, ctx, ": every level's channels ch * ",
          "ch_mult (", ch, " * ", m, ") must be a positive multiple of ", norm_groups,
          " (GroupNorm groups)");
  }
  check(resolution > 0, ctx, ": resolution must be > 0, got ", resolution);
  check(scale_factor > 0, ctx, ": scale_factor must be > 0, got ", scale_factor);
  check(dropout >= 0 && dropout < 1, ctx, ": dropout must be in [0, 1), got ", dropout);
}

AutoencoderKLConfig autoencoder_kl_config_from_json(const nlohmann::json& j) {
  // The published YAML's first_stage_config: {target: ...AutoencoderKL, params: {...}}.
  if (j.is_object() && j.contains("params")) {
    check(!j.contains("ddconfig") && !j.contains("embed_dim"), kWhat,
          ": give either 'params' (as first_stage_config) or its contents, not both");
    AutoencoderKLConfig ignored;
    ldm_schema().read(j, ignored);  // the keys beside it (target) are checked too
    return autoencoder_kl_config_from_json(j["params"]);
  }
  AutoencoderKLConfig c;
  ldm_schema().read(j, c);
  c.validate();
  return c;
}

nlohmann::json autoencoder_kl_config_to_json(const AutoencoderKLConfig& c) {
  return ldm_schema().to_json(c);
}

bool is_diffusers_vae_config(const nlohmann::json& j) {
  return j.is_object() && (j.contains("block_out_channels") || j.contains("_class_name"));
}

AutoencoderKLConfig autoencoder_kl_config_from_diffusers(const nlohmann::json& j) {
  AutoencoderKLConfig c;
  diffusers_schema().read(j, c);
  c.embed_dim = c.z_channels;
  std::vector<int64_t> widths = {128, 256, 512, 512};
  if (j.contains("block_out_channels")) {
    config_value::read(j["block_out_channels"], widths,
                       std::string(kDiffusers) + ": key 'block_out_channels'");
  }
  check(!widths.empty() && widths[0] > 0, kDiffusers,
        ": block_out_channels must list positive widths");
  c.ch = widths[0];
  c.ch_mult.clear();
  for (int64_t w : widths) {
    check(w % c.ch == 0, kDiffusers, ": block_out_channels ", w,
          " is not a multiple of the first (", c.ch, "), which ldm's ch_mult needs");
    c.ch_mult.push_back(w / c.ch);
  }
  // Attention inside the levels (Attn* block types) maps to ldm's attn_resolutions.
  const auto down = j.contains("down_block_types")
                        ? attention_levels(j["down_block_types"], "down_block_types",
                                           "DownEncoderBlock2D", "AttnDownEncoderBlock2D")
                        : std::vector<bool>(widths.size(), false);
  auto up = j.contains("up_block_types")
                ? attention_levels(j["up_block_types"], "up_block_types", "UpDecoderBlock2D",
                                   "AttnUpDecoderBlock2D")
                : std::vector<bool>(widths.size(), false);
  check(down.size() == widths.size() && up.size() == widths.size(), kDiffusers,
        ": down_block_types and up_block_types need one entry per block_out_channels (",
        widths.size(), ")");
  std::reverse(up.begin(), up.end());  // up_blocks run from the deepest level
  check(down == up, kDiffusers,
        ": attention must sit at the same levels of the encoder and decoder "
        "(ldm's attn_resolutions)");
  for (size_t level = 0; level < down.size(); ++level) {
    if (down[level]) c.attn_resolutions.push_back(c.resolution >> level);
  }
  c.validate();
  return c;
}

}  // namespace elit::models
