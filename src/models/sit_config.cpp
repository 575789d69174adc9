#include "elit/models/sit_config.h"

#include <nlohmann/json.hpp>
#include <set>

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

SiTConfig sit_config_from_json(const nlohmann::json& j, SiTConfig c) {
  check(j.is_object(), "model config must be an object, got ", j.dump());
  check(!j.contains("family") || j["family"] == "sit", "not a SiT config: family ",
        j.value("family", nlohmann::json()).dump());
  // A named model first, so that explicit keys override its sizes.
  if (j.contains("model") && !j["model"].is_null()) {
    const auto name = j["model"].get<std::string>();
    if (is_named_sit_model(name)) c = named_sit_config(name);
    c.model = name;
  }
  static const std::set<std::string> known = {"model",
                                              "input_size",
                                              "patch_size",
                                              "in_channels",
                                              "hidden_size",
                                              "depth",
                                              "num_heads",
                                              "mlp_ratio",
                                              "encoder_depth",
                                              "dit_decoder_depth",
                                              "group_size",
                                              "qk_norm",
                                              "num_classes",
                                              "class_dropout_prob",
                                              "elit_max_mask_prob",
                                              "elit_min_mask_prob",
                                              "enable_elit",
                                              "elit_read_depth",
                                              "elit_write_depth",
                                              "latent_pos_embed_rows",
                                              "decoder_hidden_size",
                                              "elit",
                                              "family"};
  for (const auto& [key, value] : j.items()) {
    check(known.count(key) > 0, "unknown model config key '", key, "'");
  }
  auto get_int = [&](const char* key, int64_t& out) {
    if (!j.contains(key)) return;
    check(j[key].is_number_integer(), "model config key '", key, "' must be an integer, got ",
          j[key].dump());
    out = j[key].get<int64_t>();
  };
  auto get_num = [&](const char* key, double& out) {
    if (!j.contains(key)) return;
    check(j[key].is_number(), "model config key '", key, "' must be a number, got ", j[key].dump());
    out = j[key].get<double>();
  };
  auto get_bool = [&](const char* key, bool& out) {
    if (!j.contains(key)) return;
    check(j[key].is_boolean(), "model config key '", key, "' must be true/false, got ",
          j[key].dump());
    out = j[key].get<bool>();
  };
  auto get_opt = [&](const char* key, std::optional<double>& out) {
    if (!j.contains(key)) return;
    if (j[key].is_null()) {
      out.reset();
      return;
    }
    check(j[key].is_number(), "model config key '", key, "' must be a number or null, got ",
          j[key].dump());
    out = j[key].get<double>();
  };
  get_int("input_size", c.input_size);
  get_int("patch_size", c.patch_size);
  get_int("in_channels", c.in_channels);
  get_int("hidden_size", c.hidden_size);
  get_int("depth", c.depth);
  get_int("num_heads", c.num_heads);
  get_num("mlp_ratio", c.mlp_ratio);
  get_int("encoder_depth", c.encoder_depth);
  get_int("dit_decoder_depth", c.dit_decoder_depth);
  get_int("group_size", c.group_size);
  get_bool("qk_norm", c.qk_norm);
  get_int("num_classes", c.num_classes);
  get_num("class_dropout_prob", c.class_dropout_prob);
  get_opt("elit_max_mask_prob", c.elit_max_mask_prob);
  get_opt("elit_min_mask_prob", c.elit_min_mask_prob);
  get_bool("enable_elit", c.enable_elit);
  get_bool("elit", c.enable_elit);  // the reference manifest's spelling
  get_int("elit_read_depth", c.elit_read_depth);
  get_int("elit_write_depth", c.elit_write_depth);
  get_int("latent_pos_embed_rows", c.latent_pos_embed_rows);
  if (j.contains("decoder_hidden_size")) {
    int64_t d = 0;
    get_int("decoder_hidden_size", d);
    check(d == c.hidden_size, "decoder_hidden_size ", d, " must equal hidden_size ", c.hidden_size,
          " (as in every published model)");
  }
  return c;
}

nlohmann::json sit_config_to_json(const SiTConfig& c) {
  nlohmann::json j = {{"family", "sit"},
                      {"model", c.model},
                      {"input_size", c.input_size},
                      {"patch_size", c.patch_size},
                      {"in_channels", c.in_channels},
                      {"hidden_size", c.hidden_size},
                      {"depth", c.depth},
                      {"num_heads", c.num_heads},
                      {"mlp_ratio", c.mlp_ratio},
                      {"encoder_depth", c.encoder_depth},
                      {"dit_decoder_depth", c.dit_decoder_depth},
                      {"group_size", c.group_size},
                      {"qk_norm", c.qk_norm},
                      {"num_classes", c.num_classes},
                      {"class_dropout_prob", c.class_dropout_prob},
                      {"enable_elit", c.enable_elit},
                      {"elit_read_depth", c.elit_read_depth},
                      {"elit_write_depth", c.elit_write_depth},
                      {"latent_pos_embed_rows", c.latent_pos_embed_rows}};
  j["elit_max_mask_prob"] = c.elit_max_mask_prob ? nlohmann::json(*c.elit_max_mask_prob) : nullptr;
  j["elit_min_mask_prob"] = c.elit_min_mask_prob ? nlohmann::json(*c.elit_min_mask_prob) : nullptr;
  return j;
}

}  // namespace elit::models
