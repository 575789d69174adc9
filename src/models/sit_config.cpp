#include "elit/models/sit_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "elit/models/config_keys.h"
#include "elit/models/latent_interface_keys.h"
#include "elit/runtime/config_schema.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

struct Size {
  int64_t depth, hidden, heads, elit_decoder_depth;
};

// Published sizes (models/sit.py, models/sit_elit.py). ELIT variants keep the SiT sizes and add
// dit_decoder_depth spatial blocks after Write (2 for S/B, 4 for L/XL).
const std::map<std::string, Size>& sizes() {
  static const std::map<std::string, Size> table = {{"S", {12, 384, 6, 2}},
                                                    {"B", {12, 768, 12, 2}},
                                                    {"L", {24, 1024, 16, 4}},
                                                    {"XL", {28, 1152, 16, 4}}};
  return table;
}

}  // namespace

void SiTConfig::validate() const {
  const std::string ctx = "model config '" + model + "'";
  check(input_size > 0 && patch_size > 0 && input_size % patch_size == 0, ctx, ": input_size ",
        input_size, " must be a positive multiple of patch_size ", patch_size);
  check(in_channels > 0, ctx, ": in_channels must be > 0, got ", in_channels);
  check(num_heads > 0 && hidden_size % num_heads == 0, ctx, ": hidden_size ", hidden_size,
        " must be divisible by num_heads ", num_heads);
  check(hidden_size % 4 == 0, ctx, ": hidden_size ", hidden_size,
        " must be a multiple of 4 (2-D sin-cos positional table)");
  check(depth > 0, ctx, ": depth must be > 0, got ", depth);
  check(mlp_ratio > 0, ctx, ": mlp_ratio must be > 0, got ", mlp_ratio);
  check(num_classes > 0, ctx, ": num_classes must be > 0, got ", num_classes);
  check(class_dropout_prob >= 0 && class_dropout_prob <= 1, ctx,
        ": class_dropout_prob must be in [0, 1], got ", class_dropout_prob);
  if (!enable_elit) return;
  check(encoder_depth >= 0 && dit_decoder_depth >= 0 && encoder_depth + dit_decoder_depth <= depth,
        ctx, ": encoder_depth ", encoder_depth, " + dit_decoder_depth ", dit_decoder_depth,
        " must not exceed depth ", depth);
  check(group_size > 0 && grid_size() % group_size == 0, ctx, ": group_size ", group_size,
        " must divide the token grid ", grid_size(), "x", grid_size());
  check(num_tokens() <= latent_pos_embed_rows, ctx, ": ", num_tokens(),
        " latent tokens exceed the latent positional table (", latent_pos_embed_rows, " rows)");
  check(elit_read_depth == 1, ctx, ": elit_read_depth must be 1 (published Read), got ",
        elit_read_depth);
  check(elit_write_depth >= 1, ctx, ": elit_write_depth must be >= 1, got ", elit_write_depth);
  for (const auto& p : {elit_max_mask_prob, elit_min_mask_prob}) {
    check(!p || (*p >= 0 && *p < 1), ctx, ": elit mask probabilities must be in [0, 1), got ",
          p.value_or(0));
  }
}

SiTConfig named_sit_config(const std::string& name) {
  const bool elit = name.rfind("ELIT-SiT-", 0) == 0;
  const std::string rest =
      elit ? name.substr(9) : (name.rfind("SiT-", 0) == 0 ? name.substr(4) : "");
  const auto slash = rest.find('/');
  const std::string size = slash == std::string::npos ? "" : rest.substr(0, slash);
  const std::string patch = slash == std::string::npos ? "" : rest.substr(slash + 1);
  auto it = sizes().find(size);
  if (it == sizes().end() || (patch != "2" && patch != "4" && patch != "8")) {
    std::string known;
    for (const auto& n : named_sit_models()) known += " " + n;
    fail("unknown model '", name, "'; known:", known);
  }
  SiTConfig c;
  c.model = name;
  c.depth = it->second.depth;
  c.hidden_size = it->second.hidden;
  c.num_heads = it->second.heads;
  c.patch_size = std::stoi(patch);
  c.enable_elit = elit;
  c.dit_decoder_depth = elit ? it->second.elit_decoder_depth : 0;
  return c;
}

std::vector<std::string> named_sit_models() {
  std::vector<std::string> names;
  for (const char* prefix : {"SiT-", "ELIT-SiT-"}) {
    for (const char* size : {"S", "B", "L", "XL"}) {
      for (const char* patch : {"2", "4", "8"}) {
        names.push_back(std::string(prefix) + size + "/" + patch);
      }
    }
  }
  return names;
}

bool is_named_sit_model(const std::string& name) {
  const auto names = named_sit_models();
  return std::find(names.begin(), names.end(), name) != names.end();
}

namespace {

// The published constructor arguments (models/sit.py, models/sit_elit.py), then this project's.
const ConfigSchema<SiTConfig>& schema() {
  using C = SiTConfig;
  static const auto s = add_latent_interface_keys(
      ConfigSchema<C>("SiT model config")
          .family("sit")
          .model_name(&C::model, "a named model (SiT-S/2, ELIT-SiT-B/4, ...) sizes first")
          .key("input_size", &C::input_size, "square input size")
          .key("patch_size", &C::patch_size, "patch size")
          .key("in_channels", &C::in_channels, "input channels")
          .key("hidden_size", &C::hidden_size, "token width")
          .key("depth", &C::depth, "transformer blocks")
          .key("num_heads", &C::num_heads, "attention heads")
          .key("mlp_ratio", &C::mlp_ratio, "MLP width / token width")
          .key("encoder_depth", &C::encoder_depth, "ELIT: spatial blocks before Read")
          .key("dit_decoder_depth", &C::dit_decoder_depth, "ELIT: spatial blocks after Write")
          .key("qk_norm", &C::qk_norm, "per-head q/k LayerNorm")
          .key("num_classes", &C::num_classes, "classes (+1 null row for CFG)")
          .key("class_dropout_prob", &C::class_dropout_prob, "training label dropout")
          .custom("elit", "bool", "the reference manifest's spelling of enable_elit",
                  [](const nlohmann::json& v, C& c) {
                    config_value::read(v, c.enable_elit, "SiT config: key 'elit'");
                  })
          .key("elit_read_depth", &C::elit_read_depth, "ELIT: Read depth")
          .key("elit_write_depth", &C::elit_write_depth, "ELIT: Write depth")
          .custom("decoder_hidden_size", "int", "must equal hidden_size (as published)",
                  [](const nlohmann::json& v, C& c) {
                    int64_t d = 0;
                    config_value::read(v, d, "SiT config: key 'decoder_hidden_size'");
                    check(d == c.hidden_size, "decoder_hidden_size ", d, " must equal hidden_size ",
                          c.hidden_size, " (as in every published model)");
                  }),
      "one per latent");
  return s;
}

}  // namespace

SiTConfig sit_config_from_json(const nlohmann::json& j, SiTConfig c) {
  c = apply_named_model<SiTConfig>(j, c, is_named_sit_model, named_sit_config);
  schema().read(j, c);
  return c;
}

nlohmann::json sit_config_to_json(const SiTConfig& c) {
  return schema().to_json(c);
}

std::vector<ConfigKey> sit_config_keys() {
  return schema().describe(SiTConfig{});
}

}  // namespace elit::models
