#include "elit/models/latent_interface.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/adaln.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

torch::Tensor group_tokens(const torch::Tensor& x, const GroupLayout& l) {
  const int64_t B = x.size(0), D = x.size(-1), g = l.group;
  check(x.dim() == 3 && x.size(1) == l.tokens(), "group_tokens expects [B, ", l.tokens(),
        ", D], got ", x.sizes());
  // [B, gh, g, gw, g, D] -> [B, gh, gw, g, g, D] -> [B, G, T, D]
  return x.view({B, l.grid_h / g, g, l.grid_w / g, g, D})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({B, l.groups(), l.tokens_per_group(), D});
}

torch::Tensor ungroup_tokens(const torch::Tensor& grouped, const GroupLayout& l) {
  const int64_t B = grouped.size(0), D = grouped.size(-1), g = l.group;
  // [B, G, T, D] -> [B, gh, gw, g, g, D] -> [B, gh, g, gw, g, D] -> [B, N, D]
  return grouped.reshape({B, l.grid_h / g, l.grid_w / g, g, g, D})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({B, l.tokens(), D});
}

torch::Tensor group_raster_index(const GroupLayout& l) {
  auto raster = torch::arange(l.tokens(), torch::kInt64).view({1, l.tokens(), 1});
  return group_tokens(raster, l).view({l.groups(), l.tokens_per_group()});
}

torch::Tensor group_positions(const torch::Tensor& pos, const GroupLayout& l) {
  check(pos.dim() == 2 && pos.size(0) == l.tokens(), "group_positions expects [", l.tokens(),
        ", P] positions, got ", pos.sizes());
  // [1, N, P] -> [G, T, P] -> mean over the slots: [G, P]
  return group_tokens(pos.contiguous().unsqueeze(0), l).squeeze(0).mean(1);
}

torch::Tensor in_group_offsets(const torch::Tensor& pos, const GroupLayout& l) {
  auto grouped = group_tokens(pos.contiguous().unsqueeze(0), l).squeeze(0);  // [G, T, P]
  return grouped[0] - grouped[0].mean(0, /*keepdim=*/true);
}

torch::Tensor LatentTokens::kept_positions() const {
  check(positions.defined(), "these latents have no positions (Read was built without them)");
  return positions.narrow(1, 0, keep).reshape({-1, positions.size(2)});
}

torch::Tensor LatentTokens::kept() const {
  const int64_t B = latents.size(0), G = latents.size(1), D = latents.size(3);
  return latents.narrow(2, 0, keep).reshape({B, G * keep, D});
}

torch::Tensor LatentTokens::restore(const torch::Tensor& core_out) const {
  const int64_t B = latents.size(0), G = latents.size(1), T = latents.size(2), D = latents.size(3);
  check(core_out.dim() == 3 && core_out.size(1) == G * keep, "the core returned ", core_out.sizes(),
        " but ", G * keep, " latent tokens went in");
  auto updated = core_out.view({B, G, keep, D});
  if (keep == T) return updated;
  // Dropped latents keep their post-Read values (published OutputTokensRestoreMaskedTokens).
  return torch::cat({updated, latents.narrow(2, keep, T - keep)}, 2);
}

ReadLayerImpl::ReadLayerImpl(int64_t hidden_size, int64_t num_heads, int64_t cond_features) {
  if (cond_features <= 0) cond_features = hidden_size;
  latents_attend_to_patches = register_module(
      "latents_attend_to_patches", nn::ModuleList(CrossAttention(hidden_size, num_heads)));
  read_ff = register_module(
      "read_ff", nn::ModuleList(Mlp(hidden_size, hidden_size, hidden_size, /*bias=*/false)));
  adaLN_modulation = register_module(
      "adaLN_modulation", nn::Sequential(nn::SiLU(), nn::Linear(cond_features, 7 * hidden_size)));
}

torch::Tensor ReadLayerImpl::forward(const torch::Tensor& queries, const torch::Tensor& patches,
                                     const torch::Tensor& c, torch::Tensor* attention) {
  // shift_patches, scale_patches, gate_attn, shift_mlp, scale_mlp, gate_mlp, (unused): [B, D]
  auto m = adaLN_modulation->forward(c).chunk(7, -1);
  auto attn = latents_attend_to_patches[0]->as<CrossAttention>();
  auto ff = read_ff[0]->as<Mlp>();
  // The queries are identical in every group and sample: project them once ([H, T, d]).
  auto q = attn->project_queries(queries);
  auto latents =
      gated_residual(queries, m[2], attn->attend(q, norm_modulate(patches, m[0], m[1]), attention));
  return gated_residual(latents, m[5], ff->forward(norm_modulate(latents, m[3], m[4])));
}

ReadImpl::ReadImpl(int64_t hidden_size, int64_t num_heads, int64_t group_size, int64_t latent_rows,
                   ReadOptions options)
    : tokens_per_group(group_size * group_size) {
  learned_query_embed =
      register_parameter("learned_query_embed", torch::zeros({tokens_per_group, hidden_size}));
  pos_embed = register_parameter("pos_embed", torch::randn({tokens_per_group, hidden_size}) * 0.02);
  latent_pos_embed =
      register_parameter("latent_pos_embed", torch::randn({latent_rows, hidden_size}) * 0.02);
  fit_layer =
      register_module("fit_layer", ReadLayer(hidden_size, num_heads, options.cond_features));
  if (options.position_dims > 0) {
    latent_pos_offset = register_parameter("latent_pos_offset",
                                           torch::zeros({tokens_per_group, options.position_dims}));
  }
}

LatentTokens ReadImpl::forward(const torch::Tensor& x, const torch::Tensor& c,
                               const GroupLayout& layout, int64_t keep,
                               const torch::Tensor& positions) {
  check(layout.tokens_per_group() == tokens_per_group, "Read was built for groups of ",
        tokens_per_group, " tokens, the layout has ", layout.tokens_per_group());
  check(keep >= 1 && keep <= tokens_per_group, "latents kept per group must be in [1, ",
        tokens_per_group, "], got ", keep);
  check(layout.tokens() <= latent_pos_embed.size(0), layout.tokens(),
        " latents exceed the latent positional table (", latent_pos_embed.size(0), " rows)");
  LatentTokens out;
  out.layout = layout;
  out.keep = keep;
  out.patches = group_tokens(x, layout) + pos_embed;
  torch::Tensor attention;
  auto latents =
      fit_layer->forward(learned_query_embed, out.patches, c, observer ? &attention : nullptr);
  if (observer) observer({attention, layout, keep});
  auto index = group_raster_index(layout).to(latent_pos_embed.device());
  out.latents = latents + latent_pos_embed.index_select(0, index.flatten())
                              .view({layout.groups(), tokens_per_group, -1});
  check(positions.defined() == latent_pos_offset.defined(),
        positions.defined() ? "this Read was built without latent positions (position_dims 0)"
                            : "this Read gives latents positions: pass the spatial positions");
  if (positions.defined()) {
    // [G, 1, P] + [1, T, P] -> [G, T, P]
    out.positions = group_positions(positions, layout).unsqueeze(1).to(latent_pos_offset.dtype()) +
                    latent_pos_offset.unsqueeze(0);
  }
  return out;
}

WriteImpl::WriteImpl(int64_t hidden_size, int64_t num_heads, int64_t group_size, int64_t depth) {
  pos_embed =
      register_parameter("pos_embed", torch::randn({group_size * group_size, hidden_size}) * 0.02);
  patches_attend_to_latents = register_module("patches_attend_to_latents", nn::ModuleList());
  write_ff = register_module("write_ff", nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    patches_attend_to_latents->push_back(CrossAttention(hidden_size, num_heads));
    write_ff->push_back(Mlp(hidden_size, hidden_size, hidden_size, /*bias=*/false));
  }
}

torch::Tensor WriteImpl::forward(const torch::Tensor& core_out, const LatentTokens& read) {
  auto latents = read.restore(core_out);
  auto patches = read.patches + pos_embed;
  for (size_t i = 0; i < patches_attend_to_latents->size(); ++i) {
    patches =
        patches + patches_attend_to_latents[i]->as<CrossAttention>()->forward(patches, latents);
    patches = patches + write_ff[i]->as<Mlp>()->forward(patches);
  }
  return ungroup_tokens(patches, read.layout);
}

InputTokenEditorImpl::InputTokenEditorImpl(Read r) : read(std::move(r)) {
  adapters = register_module("adapters", nn::ModuleList(read));
}

OutputTokenEditorImpl::OutputTokenEditorImpl(Write w) : write(std::move(w)) {
  adapters = register_module("adapters", nn::ModuleList(write));
}

void initialize_latent_interface(InputTokenEditor& input, OutputTokenEditor& output) {
  torch::NoGradGuard no_grad;
  auto& read = input->read;
  nn::init::normal_(read->learned_query_embed, 0.0, 0.02);
  nn::init::normal_(read->pos_embed, 0.0, 0.02);
  nn::init::normal_(read->latent_pos_embed, 0.0, 0.02);
  auto read_mod = read->fit_layer->adaLN_modulation[1]->as<nn::Linear>();
  nn::init::zeros_(read_mod->weight);
  nn::init::zeros_(read_mod->bias);
  auto& write = output->write;
  nn::init::normal_(write->pos_embed, 0.0, 0.02);
  for (size_t i = 0; i < write->patches_attend_to_latents->size(); ++i) {
    auto proj = write->patches_attend_to_latents[i]->as<CrossAttention>()->proj;
    nn::init::zeros_(proj->weight);
    nn::init::zeros_(proj->bias);
    nn::init::zeros_(write->write_ff[i]->as<Mlp>()->fc2->weight);
  }
}

}  // namespace elit::models
