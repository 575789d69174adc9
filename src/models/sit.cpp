#include "elit/models/sit.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/config_keys.h"
#include "elit/models/dit_init.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

SiTImpl::SiTImpl(SiTConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto& c = config_;
  x_embedder =
      register_module("x_embedder", PatchEmbed(c.in_channels, c.hidden_size, c.patch_size));
  t_embedder = register_module("t_embedder", TimestepEmbedder(c.hidden_size));
  y_embedder = register_module("y_embedder",
                               LabelEmbedder(c.num_classes, c.hidden_size, c.class_dropout_prob));
  // Published: a frozen nn.Parameter filled from numpy in float64, stored as float32.
  pos_embed = register_buffer(
      "pos_embed",
      sincos_pos_embed_2d(c.hidden_size, c.grid_size()).to(torch::kFloat32).unsqueeze(0));
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    blocks->push_back(SiTBlock(c.hidden_size, c.num_heads, c.mlp_ratio, c.qk_norm));
  }
  final_layer =
      register_module("final_layer", FinalLayer(c.hidden_size, c.patch_size, c.in_channels));
  initialize_weights();
  if (c.enable_elit) {
    input_token_editor = register_module(
        "input_token_editor",
        InputTokenEditor(Read(c.hidden_size, c.num_heads, c.group_size, c.latent_pos_embed_rows)));
    output_token_editor = register_module(
        "output_token_editor",
        OutputTokenEditor(Write(c.hidden_size, c.num_heads, c.group_size, c.elit_write_depth)));
    initialize_latent_interface(input_token_editor, output_token_editor);
  }
}

void SiTImpl::initialize_weights() {
  // Published SiT.initialize_weights: xavier-uniform linears with zero bias, the patch conv
  // initialised like a linear, N(0, 0.02) label table and timestep MLP, zero adaLN outputs and
  // zero final projection (adaLN-Zero).
  torch::NoGradGuard no_grad;
  xavier_init_linears(*this);
  init_patch_embed(*x_embedder);
  nn::init::normal_(y_embedder->embedding_table->weight, 0.0, 0.02);
  init_embedding_mlp(t_embedder->mlp);
  for (const auto& block : *blocks) {
    zero_init(*block->as<SiTBlock>()->adaLN_modulation[1]->as<nn::Linear>());
  }
  zero_init(*final_layer->adaLN_modulation[1]->as<nn::Linear>());
  zero_init(*final_layer->linear);
}

GroupLayout SiTImpl::group_layout() const {
  return GroupLayout{config_.grid_size(), config_.grid_size(), config_.group_size};
}

ModelSpec SiTImpl::spec() const {
  ModelSpec s;
  s.name = config_.model;
  s.family = "sit";
  s.in_channels = config_.in_channels;
  s.height = s.width = config_.input_size;
  s.num_classes = config_.num_classes;
  describe_latent_interface(s, config_, config_.num_tokens());
  return s;
}

nlohmann::json SiTImpl::config_json() const {
  return sit_config_to_json(config_);
}

torch::Tensor SiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                               const Condition& condition, std::optional<double> budget) {
  check(condition.labels.defined(), "model '", config_.model, "' needs class labels");
  return forward(x, t, condition.labels, budget);
}

torch::Tensor SiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                               const torch::Tensor& y, std::optional<double> budget) {
  return forward_keep(x, t, y, resolve_keep(budget));
}

torch::Tensor SiTImpl::run_blocks(torch::Tensor x, const torch::Tensor& c, int64_t begin,
                                  int64_t end) {
  for (int64_t i = begin; i < end; ++i) x = blocks[i]->as<SiTBlock>()->forward(x, c);
  return x;
}

void SiTImpl::check_inputs(const torch::Tensor& x, const torch::Tensor& t,
                           const torch::Tensor& y) const {
  const auto& cfg = config_;
  check(x.dim() == 4 && x.size(1) == cfg.in_channels && x.size(2) == cfg.input_size &&
            x.size(3) == cfg.input_size,
        "model '", cfg.model, "' expects x of shape [B, ", cfg.in_channels, ", ", cfg.input_size,
        ", ", cfg.input_size, "], got ", x.sizes());
  check(t.dim() == 1 && t.size(0) == x.size(0), "t must be [", x.size(0), "], got ", t.sizes());
  check(y.dim() == 1 && y.size(0) == x.size(0), "y must be [", x.size(0), "], got ", y.sizes());
}

torch::Tensor SiTImpl::forward_keep(const torch::Tensor& x, const torch::Tensor& t,
                                    const torch::Tensor& y, int64_t keep) {
  return forward_impl(x, t, y, keep, nullptr);
}

torch::Tensor SiTImpl::forward_cached(const torch::Tensor& x, const torch::Tensor& t,
                                      const Condition& condition, std::optional<double> budget,
                                      SpanCache& cache) {
  check(condition.labels.defined(), "model '", config_.model, "' needs class labels");
  return forward_impl(x, t, condition.labels, resolve_keep(budget), &cache);
}

torch::Tensor SiTImpl::forward_impl(const torch::Tensor& x, const torch::Tensor& t,
                                    const torch::Tensor& y, int64_t keep, SpanCache* cache) {
  const auto& cfg = config_;
  check_inputs(x, t, y);
  auto h = x_embedder(x) + pos_embed;                     // [B, N, D]
  auto c = t_embedder(t) + y_embedder(y, is_training());  // [B, D]
  if (!cfg.enable_elit) {
    if (!cache) {
      h = run_blocks(h, c, 0, cfg.depth);
    } else {
      const auto signal = blocks[0]->as<SiTBlock>()->modulated_input(h, c);
      h = cache->run(signal, h, [&](int64_t begin, int64_t count, const torch::Tensor& in) {
        return run_blocks(in, c.narrow(0, begin, count), 0, cfg.depth);
      });
    }
  } else {
    h = run_blocks(h, c, 0, cfg.encoder_depth);
    h = run_interface(h, c, keep, cache);
    h = run_blocks(h, c, cfg.depth - cfg.dit_decoder_depth, cfg.depth);
  }
  return unpatchify(final_layer(h, c));
}

torch::Tensor SiTImpl::run_interface(const torch::Tensor& h, const torch::Tensor& c, int64_t keep,
                                     SpanCache* cache) {
  const auto& cfg = config_;
  const int64_t core_begin = cfg.encoder_depth, core_end = cfg.depth - cfg.dit_decoder_depth;
  auto& write = output_token_editor->write;
  const auto read = input_token_editor->read->forward(h, c, group_layout(), keep);
  if (!cache) return write->forward(run_blocks(read.kept(), c, core_begin, core_end), read);
  check(core_end > core_begin, "model '", cfg.model,
        "' has no blocks on the latents to cache (depth - encoder_depth - dit_decoder_depth = 0)");
  const auto kept = read.kept();  // [B, G*keep, D]
  const auto signal = blocks[core_begin]->as<SiTBlock>()->modulated_input(kept, c);
  if (cache->span() == CachedSpan::core) {
    const auto core =
        cache->run(signal, kept, [&](int64_t begin, int64_t count, const torch::Tensor& in) {
          return run_blocks(in, c.narrow(0, begin, count), core_begin, core_end);
        });
    return write->forward(core, read);
  }
  return cache->run(signal, h, [&](int64_t begin, int64_t count, const torch::Tensor&) {
    auto rows = read;  // Read's output for these rows only
    rows.patches = read.patches.narrow(0, begin, count);
    rows.latents = read.latents.narrow(0, begin, count);
    return write->forward(run_blocks(rows.kept(), c.narrow(0, begin, count), core_begin, core_end),
                          rows);
  });
}

std::pair<torch::Tensor, torch::Tensor> SiTImpl::forward_branches(
    const torch::Tensor& x, const torch::Tensor& t, const Condition& condition_a,
    std::optional<double> budget_a, const Condition& condition_b, std::optional<double> budget_b,
    SpanCache* cache_a, SpanCache* cache_b) {
  const auto& cfg = config_;
  if (!cfg.enable_elit || is_training() || !budget_a || !budget_b) {
    return DiffusionModel::forward_branches(x, t, condition_a, budget_a, condition_b, budget_b,
                                            cache_a, cache_b);
  }
  check(condition_a.labels.defined() && condition_b.labels.defined(), "model '", cfg.model,
        "' needs class labels");
  const int64_t keep_a = keep_for_budget(*budget_a), keep_b = keep_for_budget(*budget_b);
  check_inputs(x, t, condition_a.labels);
  check_inputs(x, t, condition_b.labels);
  const auto h1 = x_embedder(x) + pos_embed;  // the same for both branches
  auto h = torch::cat({h1, h1}, 0);
  const auto t_emb = t_embedder(t);
  auto c = torch::cat({t_emb, t_emb}, 0) +
           y_embedder(torch::cat({condition_a.labels, condition_b.labels}, 0), false);
  h = run_blocks(h, c, 0, cfg.encoder_depth);
  const auto hs = h.chunk(2, 0), cs = c.chunk(2, 0);
  const auto written = torch::cat(
      {run_interface(hs[0], cs[0], keep_a, cache_a), run_interface(hs[1], cs[1], keep_b, cache_b)},
      0);
  h = run_blocks(written, c, cfg.depth - cfg.dit_decoder_depth, cfg.depth);
  const auto out = unpatchify(final_layer(h, c)).chunk(2, 0);
  return {out[0], out[1]};
}

torch::Tensor SiTImpl::unpatchify(const torch::Tensor& x) const {
  const int64_t B = x.size(0), p = config_.patch_size, C = config_.in_channels;
  const int64_t h = config_.grid_size(), w = config_.grid_size();
  // [B, h, w, p, p, C] -> [B, C, h, p, w, p] -> [B, C, H, W]
  return x.reshape({B, h, w, p, p, C}).permute({0, 5, 1, 3, 2, 4}).reshape({B, C, h * p, w * p});
}

Backbone sit_backbone() {
  Backbone b;
  b.family = "sit";
  b.name_prefixes = {"SiT-", "ELIT-SiT-"};
  b.resolve_config = [](const nlohmann::json& j) {
    auto c = sit_config_from_json(j);
    c.validate();
    return sit_config_to_json(c);
  };
  b.create = [](const nlohmann::json& j) -> ModelPtr { return SiT(sit_config_from_json(j)).ptr(); };
  b.named_models = named_sit_models;
  b.config_keys = sit_config_keys;
  b.input_config = [](const InputShape& s) {
    return nlohmann::json{
        {"input_size", s.size}, {"in_channels", s.channels}, {"num_classes", s.num_classes}};
  };
  return b;
}

}  // namespace elit::models
