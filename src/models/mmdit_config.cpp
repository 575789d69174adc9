#include "elit/models/mmdit_config.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "elit/runtime/error.h"
#include "elit/text/tokenizer.h"

namespace elit::models {
namespace {

using nlohmann::json;

// Depths of the small variants: the SD3 rule (hidden = 64 * depth, heads = depth) gives the
// SiT-S/B/L/XL widths at these depths. ELIT variants put ~1/6 of the blocks in head and tail.
const std::map<std::string, int64_t>& small_depths() {
  static const std::map<std::string, int64_t> table = {{"S", 6}, {"B", 12}, {"L", 16}, {"XL", 18}};
  return table;
}

// Published SD3/SD3.5 shapes (sd3_infer.py infers them from the checkpoint: 16 latent channels,
// CLIP-L+G pooled 2048, T5-XXL context 4096; SD3.5 adds qk RMSNorm, SD3.5-medium the x-only
// attention in blocks 0..12 and a 384-wide table).
MMDiTConfig sd3_config(const std::string& name) {
  MMDiTConfig c;
  c.model = name;
  c.in_channels = 16;
  c.input_height = c.input_width = 128;  // 1024 px
  c.adm_in_channels = 2048;
  c.context_in_features = 4096;
  c.depth = 24;
  c.pos_embed_max_size = 192;
  if (name == "MMDiT-SD3.5-Medium") {
    c.qk_norm = "rms";
    c.pos_embed_max_size = 384;
    for (int64_t i = 0; i <= 12; ++i) c.x_block_self_attn_layers.push_back(i);
  } else if (name == "MMDiT-SD3.5-Large") {
    c.qk_norm = "rms";
    c.depth = 38;
  }
  return c;
}

const std::vector<std::string>& sd3_names() {
  static const std::vector<std::string> names = {"MMDiT-SD3-Medium", "MMDiT-SD3.5-Medium",
                                                 "MMDiT-SD3.5-Large"};
  return names;
}

// "input_size": an int (square), [H, W], or null (published: size from pos_embed_max_size).
void read_input_size(const json& v, MMDiTConfig& c) {
  if (v.is_null()) return;
  if (v.is_number_integer()) {
    c.input_height = c.input_width = v.get<int64_t>();
    return;
  }
  check(v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
        "model config key 'input_size' must be an integer or [height, width], got ", v.dump());
  c.input_height = v[0].get<int64_t>();
  c.input_width = v[1].get<int64_t>();
}

// Published context_embedder_config: {"target": "torch.nn.Linear", "params": {in, out}}.
void read_context_embedder(const json& v, MMDiTConfig& c) {
  if (v.is_null()) return;
  check(
      v.is_object() && v.value("target", "") == "torch.nn.Linear" && v.contains("params"),
      "context_embedder_config must be {\"target\": \"torch.nn.Linear\", \"params\": {...}}, got ",
      v.dump());
  const auto& p = v["params"];
  c.context_in_features = p.at("in_features").get<int64_t>();
  if (p.contains("out_features")) c.hidden_size = p["out_features"].get<int64_t>();
}

template <typename T>
void read_key(const json& j, const char* key, T& out) {
  if (!j.contains(key)) return;
  try {
    out = j[key].get<T>();
  } catch (const json::exception&) {
    fail("model config key '", key, "' has the wrong type: ", j[key].dump());
  }
}

void read_optional(const json& j, const char* key, std::optional<double>& out) {
  if (!j.contains(key)) return;
  if (j[key].is_null()) return out.reset();
  check(j[key].is_number(), "model config key '", key, "' must be a number or null, got ",
        j[key].dump());
  out = j[key].get<double>();
}

// The integer keys that map one-to-one onto a field.
const std::vector<std::pair<const char*, int64_t MMDiTConfig::*>>& int_fields() {
  using C = MMDiTConfig;
  static const std::vector<std::pair<const char*, int64_t C::*>> table = {
      {"patch_size", &C::patch_size},
      {"in_channels", &C::in_channels},
      {"depth", &C::depth},
      {"hidden_size", &C::hidden_size},
      {"num_heads", &C::num_heads},
      {"pos_embed_max_size", &C::pos_embed_max_size},
      {"context_in_features", &C::context_in_features},
      {"text_max_tokens", &C::text_max_tokens},
      {"text_width", &C::text_width},
      {"text_depth", &C::text_depth},
      {"text_heads", &C::text_heads},
      {"encoder_depth", &C::encoder_depth},
      {"dit_decoder_depth", &C::dit_decoder_depth},
      {"group_size", &C::group_size},
      {"elit_write_depth", &C::elit_write_depth},
      {"latent_pos_embed_rows", &C::latent_pos_embed_rows}};
  return table;
}

void check_known_keys(const json& j) {
  static const std::set<std::string> known = {"family",
                                              "model",
                                              "input_size",
                                              "patch_size",
                                              "in_channels",
                                              "depth",
                                              "hidden_size",
                                              "num_heads",
                                              "mlp_ratio",
                                              "qkv_bias",
                                              "qk_norm",
                                              "x_block_self_attn_layers",
                                              "pos_embed_max_size",
                                              "num_patches",
                                              "adm_in_channels",
                                              "context_embedder_config",
                                              "context_in_features",
                                              "time_scale",
                                              "text_encoder",
                                              "captions",
                                              "vocabulary",
                                              "text_max_tokens",
                                              "text_width",
                                              "text_depth",
                                              "text_heads",
                                              "caption_dropout_prob",
                                              "label_context_file",
                                              "enable_elit",
                                              "encoder_depth",
                                              "dit_decoder_depth",
                                              "group_size",
                                              "elit_max_mask_prob",
                                              "elit_min_mask_prob",
                                              "elit_write_depth",
                                              "latent_pos_embed_rows"};
  for (const auto& [key, value] : j.items()) {
    check(known.count(key) > 0, "unknown MM-DiT model config key '", key, "'");
  }
}

}  // namespace

int64_t MMDiTConfig::pos_max() const {
  return pos_embed_max_size > 0 ? pos_embed_max_size : std::max(grid_h(), grid_w());
}

int64_t MMDiTConfig::latent_rows() const {
  return latent_pos_embed_rows > 0 ? latent_pos_embed_rows : pos_max() * pos_max();
}

bool MMDiTConfig::has_self_attn2(int64_t layer) const {
  return std::find(x_block_self_attn_layers.begin(), x_block_self_attn_layers.end(), layer) !=
         x_block_self_attn_layers.end();
}

void MMDiTConfig::resolve() {
  if (!builtin_text()) return;
  if (captions.empty()) captions = text::fashion_mnist_captions();
  if (vocabulary.empty()) vocabulary = text::build_vocabulary(captions);
  // The builtin encoder's outputs are the context tokens and the pooled vector.
  context_in_features = adm_in_channels = text_width;
}

void MMDiTConfig::validate() const {
  const std::string ctx = "MM-DiT config '" + model + "'";
  check(patch_size > 0 && input_height > 0 && input_width > 0 && input_height % patch_size == 0 &&
            input_width % patch_size == 0,
        ctx, ": input ", input_height, "x", input_width,
        " must be a positive multiple of patch_size ", patch_size);
  check(in_channels > 0 && depth > 0, ctx, ": in_channels and depth must be > 0");
  check(hidden() % heads() == 0, ctx, ": hidden_size ", hidden(),
        " must be divisible by num_heads ", heads());
  check(hidden() % 4 == 0, ctx, ": hidden_size ", hidden(),
        " must be a multiple of 4 (sin-cos table)");
  check(qk_norm.empty() || qk_norm == "rms" || qk_norm == "ln", ctx,
        ": qk_norm must be null, \"rms\" or \"ln\", got \"", qk_norm, "\"");
  for (int64_t l : x_block_self_attn_layers) {
    check(l >= 0 && l < depth - 1, ctx, ": x_block_self_attn_layers entry ", l,
          " must name a block in [0, ", depth - 1, ") (not the pre_only last block)");
  }
  check(grid_h() <= pos_max() && grid_w() <= pos_max(), ctx, ": the ", grid_h(), "x", grid_w(),
        " patch grid exceeds pos_embed_max_size ", pos_max());
  check(context_in_features > 0, ctx, ": context_in_features (context token width) must be > 0");
  check(time_scale > 0, ctx, ": time_scale must be > 0, got ", time_scale);
  check(text_encoder == "external" || text_encoder == "builtin", ctx,
        ": text_encoder must be \"external\" or \"builtin\", got \"", text_encoder, "\"");
  check(caption_dropout_prob >= 0 && caption_dropout_prob <= 1, ctx,
        ": caption_dropout_prob must be in [0, 1], got ", caption_dropout_prob);
  check(label_context_file.empty() || !builtin_text(), ctx,
        ": label_context_file is for external text context, not the builtin text encoder");
  if (builtin_text()) {
    check(text_max_tokens >= 2 && text_width > 0 && text_depth >= 0 && text_heads > 0 &&
              text_width % text_heads == 0,
          ctx, ": text_max_tokens >= 2, text_width divisible by text_heads required");
    check(context_in_features == text_width && adm_in_channels == text_width, ctx,
          ": with the builtin text encoder context_in_features and adm_in_channels equal "
          "text_width ",
          text_width);
    check(!vocabulary.empty(), ctx, ": the builtin text encoder needs a vocabulary or captions");
  }
  if (!enable_elit) return;
  check(encoder_depth >= 0 && dit_decoder_depth >= 1 && encoder_depth + dit_decoder_depth <= depth,
        ctx, ": encoder_depth ", encoder_depth, " + dit_decoder_depth ", dit_decoder_depth,
        " must not exceed depth ", depth,
        ", and dit_decoder_depth must be >= 1 (the pre_only last block runs on spatial tokens)");
  check(group_size > 0 && grid_h() % group_size == 0 && grid_w() % group_size == 0, ctx,
        ": group_size ", group_size, " must divide the token grid ", grid_h(), "x", grid_w());
  check(num_tokens() <= latent_rows(), ctx, ": ", num_tokens(),
        " latent tokens exceed the latent positional table (", latent_rows(), " rows)");
  check(elit_write_depth >= 1, ctx, ": elit_write_depth must be >= 1");
  for (const auto& p : {elit_max_mask_prob, elit_min_mask_prob}) {
    check(!p || (*p >= 0 && *p < 1), ctx, ": elit mask probabilities must be in [0, 1), got ",
          p.value_or(0));
  }
}

MMDiTConfig named_mmdit_config(const std::string& name) {
  if (std::find(sd3_names().begin(), sd3_names().end(), name) != sd3_names().end()) {
    return sd3_config(name);
  }
  const bool elit = name.rfind("ELIT-MMDiT-", 0) == 0;
  const std::string rest =
      elit ? name.substr(11) : (name.rfind("MMDiT-", 0) == 0 ? name.substr(6) : "");
  const auto slash = rest.find('/');
  const std::string size = slash == std::string::npos ? "" : rest.substr(0, slash);
  const std::string patch = slash == std::string::npos ? "" : rest.substr(slash + 1);
  auto it = small_depths().find(size);
  if (it == small_depths().end() || (patch != "2" && patch != "4" && patch != "8")) {
    std::string known;
    for (const auto& n : named_mmdit_models()) known += " " + n;
    fail("unknown model '", name, "'; known:", known);
  }
  MMDiTConfig c;
  c.model = name;
  c.depth = it->second;
  c.patch_size = std::stoi(patch);
  c.text_encoder = "builtin";
  c.enable_elit = elit;
  c.encoder_depth = c.dit_decoder_depth = std::max<int64_t>(1, c.depth / 6);
  c.group_size = std::min<int64_t>(8, 16 / c.patch_size);  // divides the nominal 32/p grid
  return c;
}

std::vector<std::string> named_mmdit_models() {
  std::vector<std::string> names;
  for (const char* prefix : {"MMDiT-", "ELIT-MMDiT-"}) {
    for (const char* size : {"S", "B", "L", "XL"}) {
      for (const char* patch : {"2", "4", "8"}) {
        names.push_back(std::string(prefix) + size + "/" + patch);
      }
    }
  }
  names.insert(names.end(), sd3_names().begin(), sd3_names().end());
  return names;
}

bool is_named_mmdit_model(const std::string& name) {
  const auto names = named_mmdit_models();
  return std::find(names.begin(), names.end(), name) != names.end();
}

MMDiTConfig mmdit_config_from_json(const json& j, MMDiTConfig c) {
  check(j.is_object(), "model config must be an object, got ", j.dump());
  check(!j.contains("family") || j["family"] == "mmdit", "not an MM-DiT config: family ",
        j.value("family", json()).dump());
  check_known_keys(j);
  // A named model first, so that explicit keys override its sizes.
  if (j.contains("model") && !j["model"].is_null()) {
    const auto name = j["model"].get<std::string>();
    if (is_named_mmdit_model(name)) c = named_mmdit_config(name);
    c.model = name;
  }
  if (j.contains("input_size")) read_input_size(j["input_size"], c);
  if (j.contains("context_embedder_config")) read_context_embedder(j["context_embedder_config"], c);
  if (j.contains("qk_norm")) {
    c.qk_norm = j["qk_norm"].is_null() ? "" : j["qk_norm"].get<std::string>();
  }
  for (const auto& [key, field] : int_fields()) read_key(j, key, c.*field);
  if (j.contains("adm_in_channels")) {
    c.adm_in_channels = j["adm_in_channels"].is_null() ? 0 : j["adm_in_channels"].get<int64_t>();
  }
  read_key(j, "mlp_ratio", c.mlp_ratio);
  read_key(j, "qkv_bias", c.qkv_bias);
  read_key(j, "x_block_self_attn_layers", c.x_block_self_attn_layers);
  read_key(j, "time_scale", c.time_scale);
  read_key(j, "text_encoder", c.text_encoder);
  read_key(j, "captions", c.captions);
  read_key(j, "vocabulary", c.vocabulary);
  read_key(j, "caption_dropout_prob", c.caption_dropout_prob);
  read_key(j, "label_context_file", c.label_context_file);
  read_key(j, "enable_elit", c.enable_elit);
  read_optional(j, "elit_max_mask_prob", c.elit_max_mask_prob);
  read_optional(j, "elit_min_mask_prob", c.elit_min_mask_prob);
  if (j.contains("num_patches") && !j["num_patches"].is_null()) {
    const auto n = j["num_patches"].get<int64_t>();
    check(n == c.pos_max() * c.pos_max(), "num_patches ", n,
          " must be pos_embed_max_size^2 = ", c.pos_max() * c.pos_max());
  }
  c.resolve();
  return c;
}

json mmdit_config_to_json(const MMDiTConfig& c) {
  json j = {{"family", "mmdit"},
            {"model", c.model},
            {"input_size", {c.input_height, c.input_width}},
            {"patch_size", c.patch_size},
            {"in_channels", c.in_channels},
            {"depth", c.depth},
            {"hidden_size", c.hidden()},
            {"num_heads", c.heads()},
            {"mlp_ratio", c.mlp_ratio},
            {"qkv_bias", c.qkv_bias},
            {"qk_norm", c.qk_norm.empty() ? json() : json(c.qk_norm)},
            {"x_block_self_attn_layers", c.x_block_self_attn_layers},
            {"pos_embed_max_size", c.pos_max()},
            {"adm_in_channels", c.adm_in_channels},
            {"context_in_features", c.context_in_features},
            {"time_scale", c.time_scale},
            {"text_encoder", c.text_encoder},
            {"caption_dropout_prob", c.caption_dropout_prob},
            {"enable_elit", c.enable_elit}};
  if (!c.label_context_file.empty()) j["label_context_file"] = c.label_context_file;
  if (c.builtin_text()) {
    j["captions"] = c.captions;
    j["vocabulary"] = c.vocabulary;
    j["text_max_tokens"] = c.text_max_tokens;
    j["text_width"] = c.text_width;
    j["text_depth"] = c.text_depth;
    j["text_heads"] = c.text_heads;
  }
  if (c.enable_elit) {
    j["encoder_depth"] = c.encoder_depth;
    j["dit_decoder_depth"] = c.dit_decoder_depth;
    j["group_size"] = c.group_size;
    j["elit_write_depth"] = c.elit_write_depth;
    j["latent_pos_embed_rows"] = c.latent_rows();
    j["elit_max_mask_prob"] = c.elit_max_mask_prob ? json(*c.elit_max_mask_prob) : json();
    j["elit_min_mask_prob"] = c.elit_min_mask_prob ? json(*c.elit_min_mask_prob) : json();
  }
  return j;
}

}  // namespace elit::models
