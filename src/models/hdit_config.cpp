#include "elit/models/hdit_config.h"

#include <map>
#include <nlohmann/json.hpp>

#include "elit/models/config_reader.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

HDiTLevelSpec level(int64_t depth, int64_t width, const char* attention, int64_t d_head,
                    int64_t kernel_size = 7) {
  return HDiTLevelSpec{depth, width, 3 * width, attention, d_head, kernel_size, 0.0};
}

// Global-level width and depth of the DiT sizes (S, B, L, XL).
const std::map<std::string, std::pair<int64_t, int64_t>>& sizes() {
  static const std::map<std::string, std::pair<int64_t, int64_t>> table = {
      {"S", {384, 12}}, {"B", {768, 12}}, {"L", {1024, 24}}, {"XL", {1152, 28}}};
  return table;
}

// One entry of k-diffusion's self_attns list -> the level's attention fields.
void read_self_attn(const nlohmann::json& j, HDiTLevelSpec& level) {
  ConfigReader r(j, "HDiT self_attns entry", {"type", "d_head", "kernel_size", "window_size"});
  std::string type;
  r.get("type", type);
  check(type == "global" || type == "neighborhood" || type == "none",
        "HDiT self_attns type must be 'global', 'neighborhood' or 'none', got '", type, "'",
        type == "shifted-window" ? " (shifted-window attention is not implemented)" : "");
  level.attention = type;
  level.d_head = 64;  // k-diffusion defaults
  level.kernel_size = 7;
  r.get("d_head", level.d_head);
  r.get("kernel_size", level.kernel_size);
}

// The per-level lists of a k-diffusion model section, applied to `c.levels`.
void read_levels(const ConfigReader& r, HDiTConfig& c) {
  std::vector<int64_t> depths, widths, d_ffs;
  r.get("depths", depths);
  r.get("widths", widths);
  check(r.has("depths") == r.has("widths"), "HDiT config: depths and widths go together");
  if (r.has("depths")) {
    check(!depths.empty() && depths.size() == widths.size(), "HDiT config: depths (", depths.size(),
          ") and widths (", widths.size(), ") need one entry per level");
    c.levels.clear();
    for (size_t i = 0; i < depths.size(); ++i) {
      const bool last = i + 1 == depths.size();
      c.levels.push_back(level(depths[i], widths[i], last ? "global" : "neighborhood", 64));
    }
  }
  const size_t n = c.levels.size();
  auto expect = [&](const char* key, size_t got) {
    check(got == n, "HDiT config: ", key, " has ", got, " entries for ", n, " levels");
  };
  if (r.has("d_ffs") && !r.at("d_ffs").is_null()) {
    r.get("d_ffs", d_ffs);
    expect("d_ffs", d_ffs.size());
    for (size_t i = 0; i < n; ++i) c.levels[i].d_ff = d_ffs[i];
  }
  if (r.has("self_attns") && !r.at("self_attns").is_null()) {
    const auto& list = r.at("self_attns");
    check(list.is_array(), "HDiT config: self_attns must be a list, got ", list.dump());
    expect("self_attns", list.size());
    for (size_t i = 0; i < n; ++i) read_self_attn(list[i], c.levels[i]);
  }
  if (r.has("dropout_rate") && !r.at("dropout_rate").is_null()) {
    const auto& d = r.at("dropout_rate");
    if (d.is_number()) {
      for (auto& l : c.levels) l.dropout = d.get<double>();
    } else {
      check(d.is_array(), "HDiT config: dropout_rate must be a number or a list, got ", d.dump());
      expect("dropout_rate", d.size());
      for (size_t i = 0; i < n; ++i) {
        check(d[i].is_number(), "HDiT config: dropout_rate entries must be numbers, got ",
              d.dump());
        c.levels[i].dropout = d[i].get<double>();
      }
    }
  }
}

}  // namespace

void HDiTConfig::validate() const {
  const std::string ctx = "HDiT config '" + model + "'";
  check(!levels.empty(), ctx, ": needs at least one level (depths, widths)");
  check(input_channels > 0, ctx, ": input_channels must be > 0, got ", input_channels);
  check(patch_h > 0 && patch_w > 0 && input_h % patch_h == 0 && input_w % patch_w == 0, ctx,
        ": input_size ", input_h, "x", input_w, " must be a multiple of patch_size ", patch_h, "x",
        patch_w);
  for (size_t i = 0; i < levels.size(); ++i) {
    const auto& l = levels[i];
    const std::string at = ctx + ": level " + std::to_string(i);
    check(l.depth >= 0 && l.width > 0 && l.d_ff > 0, at, ": depth, width, d_ff must be positive");
    check(level_h(i) > 0 && level_w(i) > 0, at, ": the token grid vanishes");
    if (i + 1 < levels.size()) {
      check(level_h(i) % 2 == 0 && level_w(i) % 2 == 0, at, ": its ", level_h(i), "x", level_w(i),
            " token grid must be even to merge 2x2 tokens into the next level");
    }
    if (l.attention == "none") continue;
    check(l.d_head > 0 && l.width % l.d_head == 0, at, ": width ", l.width,
          " must be a multiple of d_head ", l.d_head);
    if (l.attention == "neighborhood") {
      check(l.kernel_size % 2 == 1 && l.kernel_size <= level_h(i) && l.kernel_size <= level_w(i),
            at, ": neighbourhood kernel ", l.kernel_size, " must be odd and fit its ", level_h(i),
            "x", level_w(i), " token grid");
    } else {
      check(l.attention == "global", at, ": unknown attention '", l.attention, "'");
    }
  }
  check(mapping_depth >= 0 && mapping_width > 0 && mapping_width % 2 == 0 && mapping_d_ff > 0, ctx,
        ": mapping width must be positive and even, depth >= 0, d_ff > 0");
  check(num_classes >= 0, ctx, ": num_classes must be >= 0, got ", num_classes);
  check(class_dropout_prob >= 0 && class_dropout_prob <= 1, ctx,
        ": class_dropout_prob must be in [0, 1]");
  check(rf_time_eps > 0 && rf_time_eps < 0.5, ctx, ": rf_time_eps must be in (0, 0.5)");
  if (!enable_elit) return;
  const size_t m = levels.size() - 1;
  check(mid().attention == "global", ctx,
        ": ELIT-HDiT puts the latent interface at the lowest "
        "level, which must use global attention (latents have no grid), got '",
        mid().attention, "'");
  check(group_size > 0 && level_h(m) % group_size == 0 && level_w(m) % group_size == 0, ctx,
        ": group_size ", group_size, " must divide the mid-level token grid ", level_h(m), "x",
        level_w(m));
  check(encoder_depth >= 0 && decoder_depth >= 0 && encoder_depth + decoder_depth <= mid().depth,
        ctx, ": encoder_depth ", encoder_depth, " + decoder_depth ", decoder_depth,
        " must not exceed the mid-level depth ", mid().depth);
  check(latent_rows() >= mid_tokens(), ctx, ": ", mid_tokens(),
        " latents exceed latent_pos_embed_rows ", latent_pos_embed_rows);
  for (const auto& p : {elit_max_mask_prob, elit_min_mask_prob}) {
    check(!p || (*p >= 0 && *p < 1), ctx, ": elit mask probabilities must be in [0, 1)");
  }
}

HDiTConfig named_hdit_config(const std::string& name) {
  if (!is_named_hdit_model(name)) {
    std::string known;
    for (const auto& n : named_hdit_models()) known += " " + n;
    fail("unknown model '", name, "'; known:", known);
  }
  const bool elit = name.rfind("ELIT-", 0) == 0;
  const std::string size = name.substr(name.find('-', elit ? 5 : 0) + 1,
                                       name.find('/') - name.find('-', elit ? 5 : 0) - 1);
  HDiTConfig c;
  c.model = name;
  c.enable_elit = elit;
  c.patch_h = c.patch_w = 2;
  if (size == "T") {  // Fashion-MNIST 28x28x1: 14x14 neighbourhood level, 7x7 global level
    c.input_channels = 1;
    c.input_h = c.input_w = 28;
    c.levels = {level(1, 64, "neighborhood", 32), level(4, 128, "global", 32)};
    c.mapping_depth = 1;
    c.mapping_width = 128;
    c.num_classes = 11;
    c.group_size = 7;  // the 7x7 mid level is one group of 49 latents
  } else {  // 32x32x4 latents: 16x16 neighbourhood level, 8x8 global level in 2x2 groups of 4x4
    const auto [width, depth] = sizes().at(size);
    c.input_channels = 4;
    c.levels = {level(2, width / 2, "neighborhood", 64), level(depth - 4, width, "global", 64)};
    c.mapping_width = width;
    c.num_classes = 1001;
    c.group_size = 4;
  }
  c.mapping_d_ff = 3 * c.mapping_width;
  return c;
}

std::vector<std::string> named_hdit_models() {
  std::vector<std::string> names;
  for (const char* prefix : {"HDiT-", "ELIT-HDiT-"}) {
    for (const char* size : {"T", "S", "B", "L", "XL"}) {
      names.push_back(std::string(prefix) + size + "/2");
    }
  }
  return names;
}

bool is_named_hdit_model(const std::string& name) {
  const auto names = named_hdit_models();
  return std::find(names.begin(), names.end(), name) != names.end();
}

HDiTConfig hdit_config_from_json(const nlohmann::json& j) {
  ConfigReader r(
      j, "HDiT config",
      {// k-diffusion model section
       "type", "input_channels", "input_size", "patch_size", "depths", "widths", "d_ffs",
       "self_attns", "dropout_rate", "mapping_width", "mapping_depth", "mapping_d_ff",
       "mapping_cond_dim", "mapping_dropout_rate", "augment_wrapper", "skip_stages", "has_variance",
       // k-diffusion training keys of the same section: they configure the EDM loss/sampling
       "loss_config", "loss_weighting", "loss_scales", "augment_prob", "sigma_data", "sigma_min",
       "sigma_max", "sigma_sample_density",
       // this project
       "family", "model", "num_classes", "class_dropout_prob", "rf_time_eps", "enable_elit",
       "group_size", "encoder_depth", "decoder_depth", "elit_max_mask_prob", "elit_min_mask_prob",
       "latent_pos_embed_rows"});
  std::string family = "hdit", type = "image_transformer_v2";
  r.get("family", family);
  r.get("type", type);
  check(family == "hdit" && type == "image_transformer_v2", "not an HDiT config: family '", family,
        "', type '", type, "'");
  HDiTConfig c;
  if (r.has("model") && !j["model"].is_null()) {
    std::string name;
    r.get("model", name);
    if (is_named_hdit_model(name)) c = named_hdit_config(name);
    c.model = name;
  }
  int64_t mapping_cond_dim = 0;
  r.get("mapping_cond_dim", mapping_cond_dim);
  check(mapping_cond_dim == 0,
        "HDiT config: mapping_cond_dim must be 0 (no extra mapping "
        "conditioning input is implemented), got ",
        mapping_cond_dim);
  bool has_variance = false;
  r.get("has_variance", has_variance);
  check(!has_variance, "HDiT config: has_variance is not supported");
  r.get("input_channels", c.input_channels);
  r.get_pair("input_size", c.input_h, c.input_w);
  r.get_pair("patch_size", c.patch_h, c.patch_w);
  read_levels(r, c);
  r.get("mapping_width", c.mapping_width);
  if (r.has("mapping_width") && !r.has("mapping_d_ff")) c.mapping_d_ff = 3 * c.mapping_width;
  if (r.has("mapping_d_ff") && !r.at("mapping_d_ff").is_null())
    r.get("mapping_d_ff", c.mapping_d_ff);
  r.get("mapping_depth", c.mapping_depth);
  r.get("mapping_dropout_rate", c.mapping_dropout);
  r.get("num_classes", c.num_classes);
  r.get("class_dropout_prob", c.class_dropout_prob);
  r.get("rf_time_eps", c.rf_time_eps);
  r.get("enable_elit", c.enable_elit);
  r.get("group_size", c.group_size);
  r.get("encoder_depth", c.encoder_depth);
  r.get("decoder_depth", c.decoder_depth);
  r.get("elit_max_mask_prob", c.elit_max_mask_prob);
  r.get("elit_min_mask_prob", c.elit_min_mask_prob);
  r.get("latent_pos_embed_rows", c.latent_pos_embed_rows);
  return c;
}

nlohmann::json hdit_config_to_json(const HDiTConfig& c) {
  nlohmann::json depths, widths, d_ffs, self_attns, dropout;
  for (const auto& l : c.levels) {
    depths.push_back(l.depth);
    widths.push_back(l.width);
    d_ffs.push_back(l.d_ff);
    nlohmann::json a = {{"type", l.attention}};
    if (l.attention != "none") a["d_head"] = l.d_head;
    if (l.attention == "neighborhood") a["kernel_size"] = l.kernel_size;
    self_attns.push_back(a);
    dropout.push_back(l.dropout);
  }
  nlohmann::json j = {{"family", "hdit"},
                      {"model", c.model},
                      {"type", "image_transformer_v2"},
                      {"input_channels", c.input_channels},
                      {"input_size", {c.input_h, c.input_w}},
                      {"patch_size", {c.patch_h, c.patch_w}},
                      {"depths", depths},
                      {"widths", widths},
                      {"d_ffs", d_ffs},
                      {"self_attns", self_attns},
                      {"dropout_rate", dropout},
                      {"mapping_depth", c.mapping_depth},
                      {"mapping_width", c.mapping_width},
                      {"mapping_d_ff", c.mapping_d_ff},
                      {"mapping_dropout_rate", c.mapping_dropout},
                      {"num_classes", c.num_classes},
                      {"class_dropout_prob", c.class_dropout_prob},
                      {"rf_time_eps", c.rf_time_eps},
                      {"enable_elit", c.enable_elit},
                      {"group_size", c.group_size},
                      {"encoder_depth", c.encoder_depth},
                      {"decoder_depth", c.decoder_depth},
                      {"latent_pos_embed_rows", c.latent_pos_embed_rows}};
  j["elit_max_mask_prob"] = c.elit_max_mask_prob ? nlohmann::json(*c.elit_max_mask_prob) : nullptr;
  j["elit_min_mask_prob"] = c.elit_min_mask_prob ? nlohmann::json(*c.elit_min_mask_prob) : nullptr;
  return j;
}

}  // namespace elit::models
