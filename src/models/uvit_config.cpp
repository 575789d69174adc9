#include "elit/models/uvit_config.h"

#include <map>
#include <nlohmann/json.hpp>

#include "elit/models/config_keys.h"
#include "elit/models/latent_interface_keys.h"
#include "elit/runtime/config_schema.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

struct Size {
  int64_t depth, width, heads, spatial_depth;
};

// Published sizes (baofff/U-ViT configs/*: small, mid, large, huge). ELIT keeps the first/last
// `spatial_depth` in/out-blocks on spatial tokens (2 for S/M, 4 for L/H, as ELIT-SiT keeps 2 or 4
// decoder blocks); "T" is a small size for Fashion-MNIST on a CPU.
const std::map<std::string, Size>& sizes() {
  static const std::map<std::string, Size> table = {{"T", {6, 128, 4, 1}},
                                                    {"S", {12, 512, 8, 2}},
                                                    {"M", {16, 768, 12, 2}},
                                                    {"L", {20, 1024, 16, 4}},
                                                    {"H", {28, 1152, 16, 4}}};
  return table;
}

}  // namespace

void UViTConfig::validate() const {
  const std::string ctx = "U-ViT config '" + model + "'";
  check(img_size > 0 && patch_size > 0 && img_size % patch_size == 0, ctx, ": img_size ", img_size,
        " must be a positive multiple of patch_size ", patch_size);
  check(in_chans > 0, ctx, ": in_chans must be > 0, got ", in_chans);
  check(num_heads > 0 && embed_dim % num_heads == 0, ctx, ": embed_dim ", embed_dim,
        " must be divisible by num_heads ", num_heads);
  check(depth >= 0, ctx, ": depth must be >= 0, got ", depth);
  check(mlp_ratio > 0, ctx, ": mlp_ratio must be > 0, got ", mlp_ratio);
  check(time_scale > 0, ctx, ": time_scale must be > 0, got ", time_scale);
  check(class_dropout_prob >= 0 && class_dropout_prob <= 1, ctx,
        ": class_dropout_prob must be in [0, 1], got ", class_dropout_prob);
  if (!enable_elit) return;
  // Each long skip joins in-block i with out-block depth/2-1-i; a symmetric split keeps every
  // skip inside one domain (spatial tokens or latents).
  check(encoder_depth == decoder_depth, ctx,
        ": ELIT-U-ViT needs a symmetric split so that every long skip stays on one kind of "
        "token, got encoder_depth ",
        encoder_depth, " and decoder_depth ", decoder_depth);
  check(encoder_depth >= 0 && encoder_depth <= half_depth(), ctx, ": encoder_depth ", encoder_depth,
        " must be in [0, depth/2 = ", half_depth(), "]");
  check(group_size > 0 && grid_size() % group_size == 0, ctx, ": group_size ", group_size,
        " must divide the token grid ", grid_size(), "x", grid_size());
  check(num_tokens() <= latent_rows(), ctx, ": ", num_tokens(),
        " latent tokens exceed the latent positional table (", latent_pos_embed_rows, " rows)");
  for (const auto& p : {elit_max_mask_prob, elit_min_mask_prob}) {
    check(!p || (*p >= 0 && *p < 1), ctx, ": elit mask probabilities must be in [0, 1), got ",
          p.value_or(0));
  }
}

UViTConfig named_uvit_config(const std::string& name) {
  const bool elit = name.rfind("ELIT-UViT-", 0) == 0;
  const std::string rest =
      elit ? name.substr(10) : (name.rfind("UViT-", 0) == 0 ? name.substr(5) : "");
  const auto slash = rest.find('/');
  const std::string size = rest.substr(0, slash);
  const std::string patch = slash == std::string::npos ? "" : rest.substr(slash + 1);
  auto it = sizes().find(size);
  if (!is_named_uvit_model(name) || it == sizes().end()) {
    std::string known;
    for (const auto& n : named_uvit_models()) known += " " + n;
    fail("unknown model '", name, "'; known:", known);
  }
  UViTConfig c;
  c.model = name;
  c.depth = it->second.depth;
  c.embed_dim = it->second.width;
  c.num_heads = it->second.heads;
  c.patch_size = std::stoi(patch);
  c.encoder_depth = c.decoder_depth = it->second.spatial_depth;
  c.enable_elit = elit;
  if (size == "T") {  // Fashion-MNIST: 28x28x1, 10 classes + null, 14x14 tokens in 2x2 groups
    c.img_size = 28;
    c.in_chans = 1;
    c.num_classes = 11;
    c.group_size = 2;
  } else {  // published ImageNet latent models: 32x32x4, 1000 classes + null (imagenet256_*)
    c.img_size = 32;
    c.in_chans = 4;
    c.num_classes = 1001;
    c.conv = size != "H";  // imagenet256_uvit_huge.py sets conv=False
    c.group_size = 8;      // published ELIT default
  }
  return c;
}

std::vector<std::string> named_uvit_models() {
  std::vector<std::string> names;
  for (const char* prefix : {"UViT-", "ELIT-UViT-"}) {
    names.push_back(std::string(prefix) + "T/2");
    for (const char* size : {"S", "M", "L", "H"}) {
      for (const char* patch : {"2", "4"})
        names.push_back(std::string(prefix) + size + "/" + patch);
    }
  }
  return names;
}

bool is_named_uvit_model(const std::string& name) {
  const auto names = named_uvit_models();
  return std::find(names.begin(), names.end(), name) != names.end();
}

namespace {

// The published constructor arguments (same names), then this project's; the published config
// files' "name" and "qk_scale" are checked, use_checkpoint accepted.
const ConfigSchema<UViTConfig>& schema() {
  using C = UViTConfig;
  static const auto s = add_latent_interface_keys(
      ConfigSchema<C>("U-ViT config")
          .family("uvit")
          .model_name(&C::model, "a named model (UViT-S/2, ...) whose sizes come first")
          .accepted("name", "the published config's network name: 'uvit'",
                    [](const nlohmann::json& v) {
                      check(v == "uvit", "U-ViT config: name must be 'uvit', got ", v.dump());
                    })
          .key("img_size", &C::img_size, "square input size")
          .key("patch_size", &C::patch_size, "patch size")
          .key("in_chans", &C::in_chans, "input channels")
          .key("embed_dim", &C::embed_dim, "token width")
          .key("depth", &C::depth, "blocks: depth/2 in, one mid, depth/2 out")
          .key("num_heads", &C::num_heads, "attention heads")
          .key("mlp_ratio", &C::mlp_ratio, "MLP width / token width")
          .key("qkv_bias", &C::qkv_bias, "bias in the q/k/v projection")
          .accepted("qk_scale", "attention scale: only null (1/sqrt(head dim))",
                    [](const nlohmann::json& v) {
                      check(v.is_null(),
                            "U-ViT config: qk_scale must be null (1/sqrt(head dim)), got ",
                            v.dump());
                    })
          .key("mlp_time_embed", &C::mlp_time_embed, "MLP after the time embedding")
          .key("num_classes", &C::num_classes, "label table rows (last: null class); <= 0: none")
          .accepted("use_checkpoint", "gradient checkpointing: saves memory only")
          .key("conv", &C::conv, "3x3 output convolution")
          .key("skip", &C::skip, "long skips")
          .key("class_dropout_prob", &C::class_dropout_prob, "training label dropout")
          .own()
          .key("time_scale", &C::time_scale, "rectified-flow t -> timestep scale")
          .own()
          .key("encoder_depth", &C::encoder_depth, "ELIT: in-blocks on spatial tokens")
          .own()
          .key("decoder_depth", &C::decoder_depth, "ELIT: out-blocks on spatial tokens")
          .own(),
      "one per latent");
  return s;
}

}  // namespace

UViTConfig uvit_config_from_json(const nlohmann::json& j) {
  auto c = apply_named_model<UViTConfig>(j, UViTConfig{}, is_named_uvit_model, named_uvit_config);
  schema().read(j, c);
  return c;
}

nlohmann::json uvit_config_to_json(const UViTConfig& c) {
  return schema().to_json(c);
}

std::vector<ConfigKey> uvit_config_keys() {
  return schema().describe(UViTConfig{});
}

}  // namespace elit::models
