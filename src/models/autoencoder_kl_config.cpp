#include "elit/models/autoencoder_kl_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "elit/models/config_reader.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

const char* kWhat = "AutoencoderKL config";

void read_ddconfig(const ConfigReader& r, AutoencoderKLConfig& c) {
  r.get("double_z", c.double_z);
  r.get("z_channels", c.z_channels);
  r.get("resolution", c.resolution);
  r.get("in_channels", c.in_channels);
  r.get("out_ch", c.out_ch);
  r.get("ch", c.ch);
  r.get("ch_mult", c.ch_mult);
  r.get("num_res_blocks", c.num_res_blocks);
  r.get("attn_resolutions", c.attn_resolutions);
  r.get("dropout", c.dropout);
}

const std::set<std::string>& ddconfig_keys() {
  static const std::set<std::string> keys = {
      "double_z", "z_channels", "resolution",     "in_channels",      "out_ch",
      "ch",       "ch_mult",    "num_res_blocks", "attn_resolutions", "dropout"};
  return keys;
}

// A diffusers block type list: the levels whose blocks carry attention (Attn* types).
std::vector<bool> attention_levels(const ConfigReader& r, const char* key, const std::string& plain,
                                   const std::string& with_attn) {
  std::vector<bool> out;
  for (const auto& t : r.at(key)) {
    const std::string type = t.is_string() ? t.get<std::string>() : t.dump();
    check(type == plain || type == with_attn, kWhat, ": ", key, " entry '", type,
          "' is not supported (expected ", plain, " or ", with_attn, ")");
    out.push_back(type == with_attn);
  }
  return out;
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
  std::set<std::string> known = ddconfig_keys();
  for (const char* k : {"embed_dim", "ddconfig", "monitor", "lossconfig", "scale_factor",
                        "shift_factor", "norm_groups", "family", "target", "params"}) {
    known.insert(k);
  }
  ConfigReader r(j, kWhat, known);
  // The published YAML's first_stage_config: {target: ...AutoencoderKL, params: {...}}.
  if (r.has("params")) {
    check(!r.has("ddconfig") && !r.has("embed_dim"), kWhat,
          ": give either 'params' (as first_stage_config) or its contents, not both");
    return autoencoder_kl_config_from_json(r.at("params"));
  }
  if (r.has("target")) {
    const auto& t = r.at("target");
    check(t.is_string() && t.get<std::string>().find("AutoencoderKL") != std::string::npos, kWhat,
          ": target must be an AutoencoderKL class, got ", t.dump());
  }
  AutoencoderKLConfig c;
  if (r.has("ddconfig")) {
    ConfigReader dd(r.at("ddconfig"), std::string(kWhat) + " ddconfig", ddconfig_keys());
    read_ddconfig(dd, c);
  }
  read_ddconfig(r, c);
  r.get("embed_dim", c.embed_dim);
  r.get("scale_factor", c.scale_factor);
  r.get("shift_factor", c.shift_factor);
  r.get("norm_groups", c.norm_groups);
  c.validate();
  return c;
}

nlohmann::json autoencoder_kl_config_to_json(const AutoencoderKLConfig& c) {
  return {{"family", "autoencoder_kl"},
          {"embed_dim", c.embed_dim},
          {"scale_factor", c.scale_factor},
          {"shift_factor", c.shift_factor},
          {"norm_groups", c.norm_groups},
          {"ddconfig",
           {{"double_z", c.double_z},
            {"z_channels", c.z_channels},
            {"resolution", c.resolution},
            {"in_channels", c.in_channels},
            {"out_ch", c.out_ch},
            {"ch", c.ch},
            {"ch_mult", c.ch_mult},
            {"num_res_blocks", c.num_res_blocks},
            {"attn_resolutions", c.attn_resolutions},
            {"dropout", c.dropout}}}};
}

bool is_diffusers_vae_config(const nlohmann::json& j) {
  return j.is_object() && (j.contains("block_out_channels") || j.contains("_class_name"));
}

AutoencoderKLConfig autoencoder_kl_config_from_diffusers(const nlohmann::json& j) {
  const std::string what = "diffusers AutoencoderKL config";
  ConfigReader r(j, what, {"_class_name",     "_diffusers_version",  "_name_or_path",
                           "act_fn",          "block_out_channels",  "down_block_types",
                           "up_block_types",  "in_channels",         "out_channels",
                           "latent_channels", "layers_per_block",    "norm_num_groups",
                           "sample_size",     "scaling_factor",      "shift_factor",
                           "latents_mean",    "latents_std",         "force_upcast",
                           "use_quant_conv",  "use_post_quant_conv", "mid_block_add_attention"});
  auto string_is = [&](const char* key, const std::string& want) {
    if (!r.has(key)) return;
    std::string v;
    r.get(key, v);
    check(v == want, what, ": ", key, " must be '", want, "', got '", v, "'");
  };
  string_is("_class_name", "AutoencoderKL");
  string_is("act_fn", "silu");
  for (const char* key : {"use_quant_conv", "use_post_quant_conv", "mid_block_add_attention"}) {
    bool on = true;
    r.get(key, on);
    check(on, what, ": ", key, " = false is not supported (the ldm layout has these layers)");
  }
  for (const char* key : {"latents_mean", "latents_std"}) {
    check(!r.has(key) || r.at(key).is_null(), what, ": per-channel ", key,
          " is not supported (only scaling_factor and shift_factor)");
  }
  AutoencoderKLConfig c;
  std::vector<int64_t> widths = {128, 256, 512, 512};
  r.get("block_out_channels", widths);
  check(!widths.empty() && widths[0] > 0, what, ": block_out_channels must list positive widths");
  c.ch = widths[0];
  c.ch_mult.clear();
  for (int64_t w : widths) {
    check(w % c.ch == 0, what, ": block_out_channels ", w, " is not a multiple of the first (",
          c.ch, "), which ldm's ch_mult needs");
    c.ch_mult.push_back(w / c.ch);
  }
  r.get("in_channels", c.in_channels);
  r.get("out_channels", c.out_ch);
  r.get("latent_channels", c.z_channels);
  c.embed_dim = c.z_channels;
  r.get("layers_per_block", c.num_res_blocks);
  r.get("norm_num_groups", c.norm_groups);
  r.get("sample_size", c.resolution);
  r.get("scaling_factor", c.scale_factor);
  if (r.has("shift_factor") && !r.at("shift_factor").is_null())
    r.get("shift_factor", c.shift_factor);
  // Attention inside the levels (Attn* block types) maps to ldm's attn_resolutions.
  const auto down =
      r.has("down_block_types")
          ? attention_levels(r, "down_block_types", "DownEncoderBlock2D", "AttnDownEncoderBlock2D")
          : std::vector<bool>(widths.size(), false);
  auto up = r.has("up_block_types")
                ? attention_levels(r, "up_block_types", "UpDecoderBlock2D", "AttnUpDecoderBlock2D")
                : std::vector<bool>(widths.size(), false);
  check(down.size() == widths.size() && up.size() == widths.size(), what,
        ": down_block_types and up_block_types need one entry per block_out_channels (",
        widths.size(), ")");
  std::reverse(up.begin(), up.end());  // up_blocks run from the deepest level
  check(down == up, what,
        ": attention must sit at the same levels of the encoder and decoder "
        "(ldm's attn_resolutions)");
  for (size_t level = 0; level < down.size(); ++level) {
    if (down[level]) c.attn_resolutions.push_back(c.resolution >> level);
  }
  c.validate();
  return c;
}

}  // namespace elit::models
