#include "elit/models/mmdit_config.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "elit/models/config_keys.h"
#include "elit/runtime/config_schema.h"
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

// The published MMDiT constructor arguments (sd3_impls.py), then this project's (builtin text
// encoder, label context, latent interface). Options of a mode not in use are not written.
const ConfigSchema<MMDiTConfig>& schema() {
  using C = MMDiTConfig;
  // Options of a mode not in use are not written back.
  const auto builtin_text = [](const C& c) { return c.builtin_text(); };
  const auto elit_on = [](const C& c) { return c.enable_elit; };
  auto read_into = [](auto member, const char* name) {
    return [member, name](const json& v, C& c) {
      config_value::read(v, c.*member, std::string("MM-DiT config: key '") + name + "'");
    };
  };
  static const auto s =
      ConfigSchema<C>("MM-DiT config")
          .family("mmdit")
          .model_name(&C::model, "a named model (MMDiT-S/2, MMDiT-SD3-Medium, ...) first")
          .custom("input_size", "list?",
                  "[height, width], one integer, or null (published: "
                  "from pos_embed_max_size)",
                  read_input_size,
                  [](const C& c, json& out) {
                    out["input_size"] = {c.input_height, c.input_width};
                  })
          // before hidden_size and context_in_features, so that those keys override it
          .custom("context_embedder_config", "object?",
                  "published {target: torch.nn.Linear, params: {in_features, out_features}}",
                  read_context_embedder)
          .key("patch_size", &C::patch_size, "patch size")
          .key("in_channels", &C::in_channels, "latent channels")
          .key("depth", &C::depth, "joint blocks")
          .custom("hidden_size", "int", "token width; 0: 64 * depth",
                  read_into(&C::hidden_size, "hidden_size"),
                  [](const C& c, json& out) { out["hidden_size"] = c.hidden(); })
          .custom("num_heads", "int", "attention heads; 0: depth",
                  read_into(&C::num_heads, "num_heads"),
                  [](const C& c, json& out) { out["num_heads"] = c.heads(); })
          .key("mlp_ratio", &C::mlp_ratio, "MLP width / token width")
          .key("qkv_bias", &C::qkv_bias, "bias in the q/k/v projection")
          .custom(
              "qk_norm", "string?", "null | \"rms\" | \"ln\"",
              [](const json& v, C& c) {
                if (v.is_null()) return c.qk_norm.clear();
                config_value::read(v, c.qk_norm, "MM-DiT config: key 'qk_norm'");
              },
              [](const C& c, json& out) {
                out["qk_norm"] = c.qk_norm.empty() ? json() : json(c.qk_norm);
              })
          .key("x_block_self_attn_layers", &C::x_block_self_attn_layers,
               "blocks with the extra x-only attention (SD3.5)")
          .custom("pos_embed_max_size", "int", "side of the positional table; 0: the grid's",
                  read_into(&C::pos_embed_max_size, "pos_embed_max_size"),
                  [](const C& c, json& out) { out["pos_embed_max_size"] = c.pos_max(); })
          .custom(
              "adm_in_channels", "int?", "pooled vector width; null: none",
              [](const json& v, C& c) {
                if (v.is_null()) return void(c.adm_in_channels = 0);
                config_value::read(v, c.adm_in_channels, "MM-DiT config: key 'adm_in_channels'");
              },
              [](const C& c, json& out) { out["adm_in_channels"] = c.adm_in_channels; })
          .key("context_in_features", &C::context_in_features, "context token width")
          .key("time_scale", &C::time_scale, "rectified-flow t -> timestep scale")
          .own()
          .key("text_encoder", &C::text_encoder, "external | builtin (captions)")
          .own()
          .key("captions", &C::captions, "builtin text: the class captions")
          .written_if(builtin_text)
          .own()
          .key("vocabulary", &C::vocabulary, "builtin text: the tokens")
          .written_if(builtin_text)
          .own()
          .key("text_max_tokens", &C::text_max_tokens, "builtin text: tokens per caption")
          .written_if(builtin_text)
          .own()
          .key("text_width", &C::text_width, "builtin text: width")
          .written_if(builtin_text)
          .own()
          .key("text_depth", &C::text_depth, "builtin text: layers")
          .written_if(builtin_text)
          .own()
          .key("text_heads", &C::text_heads, "builtin text: heads")
          .written_if(builtin_text)
          .own()
          .key("caption_dropout_prob", &C::caption_dropout_prob, "training caption dropout")
          .own()
          .key("label_context_file", &C::label_context_file,
               "external text: per-class context file")
          .written_if([](const C& c) { return !c.label_context_file.empty(); })
          .own()
          .key("enable_elit", &C::enable_elit, "ELIT: latent interface")
          .own()
          .key("encoder_depth", &C::encoder_depth, "ELIT: blocks before Read")
          .written_if(elit_on)
          .own()
          .key("dit_decoder_depth", &C::dit_decoder_depth, "ELIT: blocks after Write")
          .written_if(elit_on)
          .own()
          .key("group_size", &C::group_size, "ELIT: latent group size g")
          .written_if(elit_on)
          .own()
          .key("elit_write_depth", &C::elit_write_depth, "ELIT: Write depth")
          .written_if(elit_on)
          .own()
          .key("elit_max_mask_prob", &C::elit_max_mask_prob, "ELIT: largest training drop")
          .written_if(elit_on)
          .own()
          .key("elit_min_mask_prob", &C::elit_min_mask_prob, "ELIT: smallest training drop")
          .written_if(elit_on)
          .own()
          .custom("latent_pos_embed_rows", "int",
                  "ELIT: latent positional table rows; 0: the "
                  "positional table's",
                  read_into(&C::latent_pos_embed_rows, "latent_pos_embed_rows"),
                  [](const C& c, json& out) { out["latent_pos_embed_rows"] = c.latent_rows(); })
          .written_if(elit_on)
          .own()
          // last: checked against the sizes read above
          .custom("num_patches", "int?", "published: pos_embed_max_size^2 (checked)",
                  [](const json& v, C& c) {
                    if (v.is_null()) return;
                    int64_t n = 0;
                    config_value::read(v, n, "MM-DiT config: key 'num_patches'");
                    check(n == c.pos_max() * c.pos_max(), "num_patches ", n,
                          " must be pos_embed_max_size^2 = ", c.pos_max() * c.pos_max());
                  });
  return s;
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
    check(!vocabulary.empty(), ctx,
          ": the builtin text encoder needs captions (one per class; elit train takes them from "
          "its dataset's class names) or a vocabulary");
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
  c = apply_named_model<MMDiTConfig>(j, c, is_named_mmdit_model, named_mmdit_config);
  schema().read(j, c);
  c.resolve();
  return c;
}

json mmdit_config_to_json(const MMDiTConfig& c) {
  return schema().to_json(c);
}

std::vector<ConfigKey> mmdit_config_keys() {
  return schema().describe(MMDiTConfig{});
}

}  // namespace elit::models
