#include "elit/models/uvit.h"

#include <torch/nn/init.h>

#include "elit/models/config_keys.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

namespace {

// timm trunc_normal_(std=.02) as published: bounds at +-2 absolute, i.e. 100 standard deviations,
// so a normal draw clamped to them has the same distribution.
void trunc_normal_02(torch::Tensor t) {
  nn::init::normal_(t, 0.0, 0.02);
  t.clamp_(-2.0, 2.0);
}

}  // namespace

UViTImpl::UViTImpl(UViTConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto& c = config_;
  const int64_t D = c.embed_dim;
  patch_embed = register_module("patch_embed", PatchEmbed(c.in_chans, D, c.patch_size));
  if (c.mlp_time_embed) {
    time_embed = register_module(
        "time_embed", nn::Sequential(nn::Linear(D, 4 * D), nn::SiLU(), nn::Linear(4 * D, D)));
  }
  if (c.conditional()) label_emb = register_module("label_emb", nn::Embedding(c.num_classes, D));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, c.extras() + c.num_tokens(), D}));
  in_blocks = register_module("in_blocks", nn::ModuleList());
  out_blocks = register_module("out_blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.half_depth(); ++i) {
    in_blocks->push_back(UViTBlock(D, c.num_heads, c.mlp_ratio, c.qkv_bias, /*skip=*/false));
  }
  mid_block = register_module("mid_block",
                              UViTBlock(D, c.num_heads, c.mlp_ratio, c.qkv_bias, /*skip=*/false));
  for (int64_t i = 0; i < c.half_depth(); ++i) {
    out_blocks->push_back(UViTBlock(D, c.num_heads, c.mlp_ratio, c.qkv_bias, c.skip));
  }
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({D}).eps(1e-5)));
  const int64_t patch_dim = c.patch_size * c.patch_size * c.in_chans;
  decoder_pred = register_module("decoder_pred", nn::Linear(D, patch_dim));
  if (c.conv) {
    final_layer = register_module(
        "final_layer", nn::Conv2d(nn::Conv2dOptions(c.in_chans, c.in_chans, 3).padding(1)));
  }
  initialize_weights();
  if (c.enable_elit) {
    input_token_editor =
        register_module("input_token_editor",
                        InputTokenEditor(Read(D, c.num_heads, c.group_size, c.latent_rows())));
    output_token_editor = register_module(
        "output_token_editor", OutputTokenEditor(Write(D, c.num_heads, c.group_size, 1)));
    initialize_latent_interface(input_token_editor, output_token_editor);
  }
}

void UViTImpl::initialize_weights() {
  torch::NoGradGuard no_grad;
  // Published UViT.__init__: trunc_normal(.02) positional table; _init_weights: linears
  // trunc_normal(.02) with zero bias, LayerNorms weight 1 / bias 0; embedding and convolutions
  // keep PyTorch's defaults.
  trunc_normal_02(pos_embed);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<nn::Linear>()) {
      trunc_normal_02(linear->weight);
      if (linear->bias.defined()) nn::init::zeros_(linear->bias);
    } else if (auto* ln = module->as<nn::LayerNorm>()) {
      nn::init::ones_(ln->weight);
      nn::init::zeros_(ln->bias);
    }
  }
}

GroupLayout UViTImpl::group_layout() const {
  return GroupLayout{config_.grid_size(), config_.grid_size(), config_.group_size};
}

ModelSpec UViTImpl::spec() const {
  ModelSpec s;
  s.name = config_.model;
  s.family = "uvit";
  s.in_channels = config_.in_chans;
  s.height = s.width = config_.img_size;
  s.num_classes = config_.conditional() ? config_.num_classes - 1 : 0;  // last row = null
  describe_latent_interface(s, config_, config_.num_tokens());
  return s;
}

nlohmann::json UViTImpl::config_json() const {
  return uvit_config_to_json(config_);
}

torch::Tensor UViTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                const Condition& condition, std::optional<double> budget) {
  const int64_t keep = resolve_keep(budget);
  check(!config_.conditional() || condition.labels.defined(), "model '", config_.model,
        "' needs class labels");
  auto y = config_.conditional() ? condition.labels : torch::Tensor();
  if (y.defined() && is_training()) {
    y = drop_labels(y, config_.class_dropout_prob, config_.num_classes - 1);
  }
  return forward_timesteps(x, t * config_.time_scale, y, keep);
}

torch::Tensor UViTImpl::embed_time(const torch::Tensor& timesteps, torch::Dtype dtype) {
  // Published timestep_embedding: float32 sinusoid of width D whatever the model's dtype.
  auto token = TimestepEmbedderImpl::frequency_embedding(timesteps, config_.embed_dim).to(dtype);
  return time_embed ? time_embed->forward(token) : token;  // [B, D]
}

torch::Tensor UViTImpl::run(const std::string& name, UViTBlockImpl& block, const torch::Tensor& x,
                            const torch::Tensor& skip, bool latent) {
  if (trace_) trace_->push_back({name, latent ? "latent" : "spatial", x.size(1)});
  return block.forward(x, skip);
}

torch::Tensor UViTImpl::forward_timesteps(const torch::Tensor& x, const torch::Tensor& timesteps,
                                          const torch::Tensor& y, int64_t keep) {
  const auto& c = config_;
  check(
      x.dim() == 4 && x.size(1) == c.in_chans && x.size(2) == c.img_size && x.size(3) == c.img_size,
      "model '", c.model, "' expects x of shape [B, ", c.in_chans, ", ", c.img_size, ", ",
      c.img_size, "], got ", x.sizes());
  const int64_t B = x.size(0), E = c.extras(), n = c.half_depth();
  check(timesteps.dim() == 1 && timesteps.size(0) == B, "t must be [", B, "], got ",
        timesteps.sizes());
  check(!c.conditional() || (y.defined() && y.dim() == 1 && y.size(0) == B), "model '", c.model,
        "' needs labels y of shape [", B, "]");
  auto h = patch_embed(x);  // [B, N, D]
  auto time_token = embed_time(timesteps, h.scalar_type());
  auto cond = time_token;  // Read's modulation: time (+ class) embedding, [B, D]
  if (c.conditional()) {
    auto label = label_emb(y);
    cond = cond + label;
    h = torch::cat({label.unsqueeze(1), time_token.unsqueeze(1), h}, 1);  // [B, 2 + N, D]
  } else {
    h = torch::cat({time_token.unsqueeze(1), h}, 1);  // [B, 1 + N, D]
  }
  h = h + pos_embed;
  // Blocks before index s (in) and from index n - s (out) are spatial; the rest run on latents.
  const bool elit = c.enable_elit;
  const int64_t s = elit ? c.encoder_depth : n;
  LatentTokens read;
  auto to_latents = [&] {  // [B, E + N, D] -> [B, E + G*keep, D]
    read = input_token_editor->read->forward(h.narrow(1, E, h.size(1) - E), cond, group_layout(),
                                             keep);
    if (trace_) trace_->push_back({"read", "interface", c.num_tokens()});
    h = torch::cat({h.narrow(1, 0, E), read.kept()}, 1);
  };
  auto to_spatial = [&] {  // [B, E + G*keep, D] -> [B, E + N, D]
    if (trace_) trace_->push_back({"write", "interface", c.num_tokens()});
    auto patches = output_token_editor->write->forward(h.narrow(1, E, h.size(1) - E), read);
    h = torch::cat({h.narrow(1, 0, E), patches}, 1);
  };
  std::vector<torch::Tensor> skips;
  for (int64_t i = 0; i <= n; ++i) {
    if (elit && i == s) to_latents();
    if (i == n) break;
    h = run("in_blocks." + std::to_string(i), *in_blocks[i]->as<UViTBlock>(), h, {},
            elit && i >= s);
    skips.push_back(h);
  }
  h = run("mid_block", *mid_block, h, {}, elit);
  for (int64_t j = 0; j <= n; ++j) {
    if (elit && j == n - s) to_spatial();
    if (j == n) break;
    h = run("out_blocks." + std::to_string(j), *out_blocks[j]->as<UViTBlock>(), h, skips.back(),
            elit && j < n - s);
    skips.pop_back();
  }
  return head(h);
}

torch::Tensor UViTImpl::head(const torch::Tensor& x) {
  const auto& c = config_;
  const int64_t B = x.size(0), p = c.patch_size, C = c.in_chans, g = c.grid_size();
  auto patches = decoder_pred(norm(x)).narrow(1, c.extras(), c.num_tokens());  // [B, N, p*p*C]
  // 'B (h w) (p1 p2 C) -> B C (h p1) (w p2)': [B, h, w, p, p, C] -> [B, C, h, p, w, p]
  auto img =
      patches.reshape({B, g, g, p, p, C}).permute({0, 5, 1, 3, 2, 4}).reshape({B, C, g * p, g * p});
  return final_layer ? final_layer(img) : img;
}

Backbone uvit_backbone() {
  Backbone b;
  b.family = "uvit";
  b.name_prefixes = {"UViT-", "ELIT-UViT-"};
  // The published U-ViT config files name their network "uvit".
  b.has_published_markers = [](const nlohmann::json& j) {
    return j.contains("name") && j["name"] == "uvit";
  };
  b.resolve_config = [](const nlohmann::json& j) {
    auto c = uvit_config_from_json(j);
    c.validate();
    return uvit_config_to_json(c);
  };
  b.create = [](const nlohmann::json& j) -> ModelPtr {
    return UViT(uvit_config_from_json(j)).ptr();
  };
  b.named_models = named_uvit_models;
  b.config_keys = uvit_config_keys;
  b.input_config = [](const InputShape& s) {
    return nlohmann::json{
        {"img_size", s.size}, {"in_chans", s.channels}, {"num_classes", s.num_classes}};
  };
  return b;
}

}  // namespace elit::models
