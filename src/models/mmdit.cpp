// MM-DiT / ELIT-MM-DiT: construction, initialisation and the forward pass. The conditioning
// (context, prompts, captions, null condition) is in mmdit_conditioning.cpp.
#include "elit/models/mmdit.h"

#include "elit/models/config_keys.h"
#include "elit/models/dit_init.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/text/tokenizer.h"

namespace elit::models {

namespace nn = torch::nn;

MMDiTImpl::MMDiTImpl(MMDiTConfig config) : config_(std::move(config)) {
  config_.resolve();
  config_.validate();
  const auto& c = config_;
  const int64_t D = c.hidden(), M = c.pos_max();
  x_embedder = register_module("x_embedder", PatchEmbed(c.in_channels, D, c.patch_size));
  t_embedder = register_module("t_embedder", TimestepEmbedder(D));
  if (c.adm_in_channels > 0) {
    y_embedder = register_module("y_embedder", VectorEmbedder(c.adm_in_channels, D));
  }
  context_embedder = register_module("context_embedder", nn::Linear(c.context_in_features, D));
  // A persistent buffer in the published state_dict (SD3 checkpoints carry it); filled here with
  // the 2-D sin-cos table of an M x M grid, as snap-research/elit models/mmdit.py does.
  pos_embed =
      register_buffer("pos_embed", sincos_pos_embed_2d(D, M).to(torch::kFloat32).unsqueeze(0));
  joint_blocks = register_module("joint_blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    joint_blocks->push_back(JointBlock(D, c.heads(), c.mlp_ratio, c.qkv_bias,
                                       /*pre_only=*/i == c.depth - 1, c.qk_norm,
                                       c.has_self_attn2(i)));
  }
  final_layer = register_module("final_layer", FinalLayer(D, c.patch_size, c.in_channels));
  if (c.builtin_text()) {
    tokenizer_ = std::make_unique<text::WordTokenizer>(c.vocabulary, c.text_max_tokens);
    text_encoder =
        register_module("text_encoder", TextEncoder(tokenizer_->vocab_size(), c.text_max_tokens,
                                                    c.text_width, c.text_depth, c.text_heads));
    auto prompts = c.captions;
    prompts.emplace_back();  // the null label's empty prompt
    caption_tokens_ = tokenizer_->encode(prompts);
  }
  initialize_weights();
  if (c.enable_elit) {
    input_token_editor = register_module(
        "input_token_editor", InputTokenEditor(Read(D, c.heads(), c.group_size, c.latent_rows())));
    output_token_editor =
        register_module("output_token_editor",
                        OutputTokenEditor(Write(D, c.heads(), c.group_size, c.elit_write_depth)));
    initialize_latent_interface(input_token_editor, output_token_editor);
  }
}

void MMDiTImpl::initialize_weights() {
  // DiT's initialize_weights (as published SiT): xavier-uniform linears with zero bias, the patch
  // conv like a linear, N(0, 0.02) timestep/pooled-vector MLPs, zero adaLN outputs in both
  // streams and the final layer (adaLN-Zero: every block starts as the identity).
  xavier_init_linears(*this);
  init_patch_embed(*x_embedder);
  init_embedding_mlp(t_embedder->mlp);
  if (y_embedder) init_embedding_mlp(y_embedder->mlp);
  for (const auto& block : *joint_blocks) {
    auto* joint = block->as<JointBlock>();
    zero_init(*joint->context_block->adaLN_modulation[1]->as<nn::Linear>());
    zero_init(*joint->x_block->adaLN_modulation[1]->as<nn::Linear>());
  }
  zero_init(*final_layer->adaLN_modulation[1]->as<nn::Linear>());
  zero_init(*final_layer->linear);
}

ModelSpec MMDiTImpl::spec() const {
  ModelSpec s;
  s.name = config_.model;
  s.family = "mmdit";
  s.in_channels = config_.in_channels;
  s.height = config_.input_height;
  s.width = config_.input_width;
  s.num_classes = config_.builtin_text()             ? static_cast<int64_t>(config_.captions.size())
                  : label_context_.context.defined() ? label_context_.context.size(0) - 1
                                                     : 0;
  s.text_conditioned = true;
  describe_latent_interface(s, config_, config_.num_tokens());
  return s;
}

nlohmann::json MMDiTImpl::config_json() const {
  return mmdit_config_to_json(config_);
}

torch::Tensor MMDiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                 const Condition& condition, std::optional<double> budget) {
  check(t.dim() == 1, "t must be [B], got ", t.sizes());
  const int64_t keep = resolve_keep(budget);
  auto cond = is_training() ? drop_conditions(condition) : condition;
  return forward_keep(x, t * config_.time_scale, cond, keep);
}

torch::Tensor MMDiTImpl::cropped_pos_embed(int64_t gh, int64_t gw) const {
  const int64_t M = config_.pos_max(), D = pos_embed.size(-1);
  check(gh <= M && gw <= M, "model '", config_.model, "': a ", gh, "x", gw,
        " patch grid exceeds the positional table (pos_embed_max_size ", M, ")");
  // Published cropped_pos_embed: [1, M*M, D] -> [1, M, M, D], centre crop, -> [1, gh*gw, D]
  const int64_t top = (M - gh) / 2, left = (M - gw) / 2;
  return pos_embed.view({1, M, M, D})
      .narrow(1, top, gh)
      .narrow(2, left, gw)
      .reshape({1, gh * gw, D});
}

torch::Tensor MMDiTImpl::unpatchify(const torch::Tensor& x, int64_t gh, int64_t gw) const {
  const int64_t B = x.size(0), p = config_.patch_size, C = config_.in_channels;
  // [B, gh, gw, p, p, C] -> [B, C, gh, p, gw, p] -> [B, C, H, W] (published "nhwpqc->nchpwq")
  return x.reshape({B, gh, gw, p, p, C})
      .permute({0, 5, 1, 3, 2, 4})
      .reshape({B, C, gh * p, gw * p});
}

void MMDiTImpl::run_blocks(torch::Tensor& context, torch::Tensor& x, const torch::Tensor& c,
                           const torch::Tensor& mask, int64_t begin, int64_t end,
                           MMDiTTrace* trace) {
  for (int64_t i = begin; i < end; ++i) {
    if (trace) {
      trace->context_in.push_back(context);
      trace->x_in.push_back(x);
    }
    std::tie(context, x) = joint_blocks[i]->as<JointBlock>()->forward(context, x, c, mask);
  }
}

torch::Tensor MMDiTImpl::forward_keep(const torch::Tensor& x, const torch::Tensor& timestep,
                                      const Condition& condition, int64_t keep, MMDiTTrace* trace) {
  // x: [B, C, H, W], timestep: [B] -> [B, C, H, W]
  const auto& cfg = config_;
  const int64_t p = cfg.patch_size;
  check(x.dim() == 4 && x.size(1) == cfg.in_channels && x.size(2) % p == 0 && x.size(3) % p == 0,
        "model '", cfg.model, "' expects x of shape [B, ", cfg.in_channels,
        ", H, W] with H and W multiples of ", p, ", got ", x.sizes());
  const int64_t B = x.size(0), gh = x.size(2) / p, gw = x.size(3) / p;
  check(timestep.dim() == 1 && timestep.size(0) == B, "t must be [", B, "], got ",
        timestep.sizes());
  auto text = text_context(condition.to(x.device()), B);
  auto h = x_embedder(x) + cropped_pos_embed(gh, gw);  // [B, N, D]
  auto c = t_embedder(timestep);                       // [B, D]
  if (y_embedder) c = c + y_embedder(text.pooled.to(c.scalar_type()));
  auto context = context_embedder(text.context.to(h.scalar_type()));  // [B, L, D]
  if (!cfg.enable_elit) {
    run_blocks(context, h, c, text.mask, 0, cfg.depth, trace);
  } else {
    const GroupLayout layout{gh, gw, cfg.group_size};
    check(gh % cfg.group_size == 0 && gw % cfg.group_size == 0, "model '", cfg.model,
          "': group_size ", cfg.group_size, " must divide the ", gh, "x", gw, " patch grid");
    const int64_t core_end = cfg.depth - cfg.dit_decoder_depth;
    run_blocks(context, h, c, text.mask, 0, cfg.encoder_depth, trace);
    // Read and Write see the image stream only; the context stream goes on unchanged.
    auto read = input_token_editor->read->forward(h, c, layout, keep);
    auto latents = read.kept();  // [B, G*keep, D]
    run_blocks(context, latents, c, text.mask, cfg.encoder_depth, core_end, trace);
    h = output_token_editor->write->forward(latents, read);  // [B, N, D]
    run_blocks(context, h, c, text.mask, core_end, cfg.depth, trace);
  }
  return unpatchify(final_layer(h, c), gh, gw);
}

Backbone mmdit_backbone() {
  Backbone b;
  b.family = "mmdit";
  b.name_prefixes = {"MMDiT-", "ELIT-MMDiT-"};
  b.resolve_config = [](const nlohmann::json& j) {
    auto c = mmdit_config_from_json(j);
    c.validate();
    return mmdit_config_to_json(c);
  };
  b.create = [](const nlohmann::json& j) -> ModelPtr {
    return MMDiT(mmdit_config_from_json(j)).ptr();
  };
  b.named_models = named_mmdit_models;
  // Text-conditioned: classes come in as captions (the builtin text path's), not as a count.
  b.config_keys = mmdit_config_keys;
  b.input_config = [](const InputShape& s) {
    nlohmann::json j{{"input_size", s.size}, {"in_channels", s.channels}};
    if (!s.class_names.empty()) j["captions"] = text::captions_for_classes(s.class_names);
    return j;
  };
  return b;
}

}  // namespace elit::models
