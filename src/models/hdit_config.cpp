#include "elit/models/hdit_config.h"

#include <map>
#include <nlohmann/json.hpp>

#include "elit/models/config_keys.h"
#include "elit/models/latent_interface_keys.h"
#include "elit/runtime/config_schema.h"
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

// One entry of k-diffusion's self_attns list: the level's attention fields.
const ConfigSchema<HDiTLevelSpec>& self_attn_schema() {
  using L = HDiTLevelSpec;
  static const auto s =
      ConfigSchema<L>("HDiT self_attns entry")
          .custom("type", "string", "global | neighborhood | none",
                  [](const nlohmann::json& v, L& level) {
                    std::string type;
                    config_value::read(v, type, "HDiT self_attns entry: key 'type'");
                    check(type == "global" || type == "neighborhood" || type == "none",
                          "HDiT self_attns type must be 'global', 'neighborhood' or 'none', got '",
                          type, "'",
                          type == "shifted-window"
                              ? " (shifted-window attention is not implemented)"
                              : "");
                    level.attention = type;
                  })
          .key("d_head", &L::d_head, "attention head width")
          .key("kernel_size", &L::kernel_size, "neighbourhood size")
          .accepted("window_size", "shifted-window attention only (not implemented)");
  return s;
}

// The per-level lists of a k-diffusion model section, applied to `c.levels`: they go together
// (one entry per level), so they are read after the single keys.
void read_levels(const nlohmann::json& j, HDiTConfig& c) {
  auto given = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  std::vector<int64_t> depths, widths, d_ffs;
  check(given("depths") == given("widths"), "HDiT config: depths and widths go together");
  if (given("depths")) {
    config_value::read(j["depths"], depths, "HDiT config: key 'depths'");
    config_value::read(j["widths"], widths, "HDiT config: key 'widths'");
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
  if (given("d_ffs")) {
    config_value::read(j["d_ffs"], d_ffs, "HDiT config: key 'd_ffs'");
    expect("d_ffs", d_ffs.size());
    for (size_t i = 0; i < n; ++i) c.levels[i].d_ff = d_ffs[i];
  }
  if (given("self_attns")) {
    const auto& list = j["self_attns"];
    check(list.is_array(), "HDiT config: self_attns must be a list, got ", list.dump());
    expect("self_attns", list.size());
    for (size_t i = 0; i < n; ++i) {
      c.levels[i].d_head = 64;  // k-diffusion defaults
      c.levels[i].kernel_size = 7;
      self_attn_schema().read(list[i], c.levels[i]);
    }
  }
  if (given("dropout_rate")) {
    const auto& d = j["dropout_rate"];
    std::vector<double> rates;
    if (d.is_number()) {
      rates.assign(n, d.get<double>());
    } else {
      config_value::read(d, rates, "HDiT config: key 'dropout_rate' (a number or a list)");
      expect("dropout_rate", rates.size());
    }
    for (size_t i = 0; i < n; ++i) c.levels[i].dropout = rates[i];
  }
}

void write_levels(const HDiTConfig& c, nlohmann::json& out) {
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
  out["depths"] = depths;
  out["widths"] = widths;
  out["d_ffs"] = d_ffs;
  out["self_attns"] = self_attns;
  out["dropout_rate"] = dropout;
}

// [h, w] or one integer for both, as k-diffusion's input_size / patch_size.
ConfigSchema<HDiTConfig>::Reader pair_reader(const char* key, int64_t HDiTConfig::*first,
                                             int64_t HDiTConfig::*second) {
  return [key, first, second](const nlohmann::json& v, HDiTConfig& c) {
    if (v.is_number_integer()) {
      c.*first = c.*second = v.get<int64_t>();
      return;
    }
    check(v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
          "HDiT config: key '", key, "' must be an integer or a list of two integers, got ",
          v.dump());
    c.*first = v[0].get<int64_t>();
    c.*second = v[1].get<int64_t>();
  };
}

// A key of k-diffusion's model section that must keep its default here.
std::function<void(const nlohmann::json&)> must_be(const char* key, nlohmann::json expected,
                                                   const char* why) {
  return [key, expected, why](const nlohmann::json& v) {
    check(v == expected, "HDiT config: ", key, " must be ", expected.dump(), " (", why, "), got ",
          v.dump());
  };
}

// k-diffusion's model section (config_*.json "model"), then this project's keys.
const ConfigSchema<HDiTConfig>& schema() {
  using C = HDiTConfig;
  const char* level_list = "per level (read together with depths and widths)";
  static const auto s = add_latent_interface_keys(
      ConfigSchema<C>("HDiT config")
          .family("hdit")
          .custom(
              "type", "string", "\"image_transformer_v2\"",
              [](const nlohmann::json& v, C&) {
                check(v == "image_transformer_v2", "not an HDiT config: type ", v.dump());
              },
              [](const C&, nlohmann::json& out) { out["type"] = "image_transformer_v2"; })
          .model_name(&C::model, "a named model (HDiT-S/2, ...) whose sizes come first")
          .key("input_channels", &C::input_channels, "input channels")
          .custom("input_size", "list", "[h, w] or one integer",
                  pair_reader("input_size", &C::input_h, &C::input_w),
                  [](const C& c, nlohmann::json& out) {
                    out["input_size"] = {c.input_h, c.input_w};
                  })
          .custom("patch_size", "list", "[h, w] or one integer",
                  pair_reader("patch_size", &C::patch_h, &C::patch_w),
                  [](const C& c, nlohmann::json& out) {
                    out["patch_size"] = {c.patch_h, c.patch_w};
                  })
          .custom(
              "depths", "list", "layers per level", [](const nlohmann::json&, C&) {}, write_levels)
          .accepted("widths", "token width per level (read together with depths)")
          .accepted("d_ffs", level_list)
          .accepted("self_attns", level_list)
          .accepted("dropout_rate", "a number, or one per level")
          .key("mapping_width", &C::mapping_width, "mapping network width")
          .key("mapping_depth", &C::mapping_depth, "mapping network depth")
          .custom(
              "mapping_d_ff", "int?", "mapping MLP width; null: 3 * mapping_width",
              [](const nlohmann::json& v, C& c) {
                if (v.is_null()) return;
                config_value::read(v, c.mapping_d_ff, "HDiT config: key 'mapping_d_ff'");
              },
              [](const C& c, nlohmann::json& out) { out["mapping_d_ff"] = c.mapping_d_ff; })
          .accepted(
              "mapping_cond_dim", "extra mapping input: only 0",
              must_be("mapping_cond_dim", 0, "no extra mapping conditioning input is implemented"))
          .key("mapping_dropout_rate", &C::mapping_dropout, "mapping network dropout")
          .accepted("augment_wrapper", "k-diffusion augmentation wrapper: no effect here")
          .accepted("skip_stages", "k-diffusion: no effect here")
          .accepted("has_variance", "only false", must_be("has_variance", false, "not supported"))
          // k-diffusion training keys of the same section: they configure its EDM loss/sampling
          .accepted("loss_config", "k-diffusion training")
          .accepted("loss_weighting", "k-diffusion training")
          .accepted("loss_scales", "k-diffusion training")
          .accepted("augment_prob", "k-diffusion training")
          .accepted("sigma_data", "k-diffusion training")
          .accepted("sigma_min", "k-diffusion training")
          .accepted("sigma_max", "k-diffusion training")
          .accepted("sigma_sample_density", "k-diffusion training")
          // this project
          .key("num_classes", &C::num_classes, "class table rows (last: null class); 0: none")
          .own()
          .key("class_dropout_prob", &C::class_dropout_prob, "training label dropout")
          .own()
          .key("rf_time_eps", &C::rf_time_eps, "rectified-flow t clamp")
          .own()
          .key("encoder_depth", &C::encoder_depth, "ELIT: mid-level layers before Read")
          .own()
          .key("decoder_depth", &C::decoder_depth, "ELIT: mid-level layers after Write")
          .own(),
      "one per mid-level token");
  return s;
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
  auto c = apply_named_model<HDiTConfig>(j, HDiTConfig{}, is_named_hdit_model, named_hdit_config);
  schema().read(j, c);
  read_levels(j, c);
  const bool d_ff_given = j.contains("mapping_d_ff") && !j["mapping_d_ff"].is_null();
  if (j.contains("mapping_width") && !d_ff_given) c.mapping_d_ff = 3 * c.mapping_width;
  return c;
}

nlohmann::json hdit_config_to_json(const HDiTConfig& c) {
  return schema().to_json(c);
}

std::vector<ConfigKey> hdit_config_keys() {
  return schema().describe(HDiTConfig{});
}

}  // namespace elit::models
