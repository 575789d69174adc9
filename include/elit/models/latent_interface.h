// The ELIT latent interface (published elit_utils/token_editors.py), one implementation for every
// backbone:
//   Read : learned latent queries (one per slot of a g x g group) cross-attend, group by group, to
//          the adaLN-modulated spatial tokens of their group; then a gated MLP and the learnable
//          latent positional embedding.
//   core : the backbone's blocks run on the first `keep` latents of every group only (tail
//          dropping; `keep` comes from the budget).
//   Write: every group's spatial tokens cross-attend to all latents of their group (the dropped
//          ones still carry their post-Read values, as published) and update the spatial tokens.
// Internally tokens live in group-major layout [B, G, T, D] (G groups, T = g*g slots), so keeping
// the first `keep` latents of every group is a slice, never a gather or a per-sample loop.
#pragma once
#include <functional>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "elit/models/attention.h"
#include "elit/models/budget.h"
#include "elit/models/mlp.h"

namespace elit::models {

// [B, N, D] tokens in raster order over the layout's grid -> [B, G, T, D], and back.
torch::Tensor group_tokens(const torch::Tensor& x, const GroupLayout& layout);
torch::Tensor ungroup_tokens(const torch::Tensor& grouped, const GroupLayout& layout);
// Raster index of every (group, slot): int64 [G, T].
torch::Tensor group_raster_index(const GroupLayout& layout);

// Positions for backbones with rotary embeddings (HDiT). `pos`: [N, P] coordinates of the spatial
// tokens in raster order. A latent's position is its group's mean position plus a per-slot
// offset; `in_group_offsets` gives each slot's spatial-token offset from its group's mean (the
// same in every group of a uniform grid: taken from group 0), a natural initial value for
// learnable offsets. Returns [G, P] and [T, P].
torch::Tensor group_positions(const torch::Tensor& pos, const GroupLayout& layout);
torch::Tensor in_group_offsets(const torch::Tensor& pos, const GroupLayout& layout);

// What Read hands to the core and to Write.
struct LatentTokens {
  torch::Tensor patches;  // [B, G, T, D] spatial tokens (with Read's in-group position)
  torch::Tensor latents;  // [B, G, T, D] every latent after Read
  int64_t keep = 0;       // latents per group that run through the core
  GroupLayout layout;
  torch::Tensor positions;  // [G, T, P] latent positions when Read was given spatial positions
  // The kept latents as a token sequence for the core: [B, G*keep, D].
  torch::Tensor kept() const;
  // Positions of the kept latents, in the order of kept(): [G*keep, P].
  torch::Tensor kept_positions() const;
  // Core output [B, G*keep, D] with the dropped latents put back: [B, G, T, D].
  torch::Tensor restore(const torch::Tensor& core_out) const;
};

// What Read attended to in one forward, for observers (metrics/read_attention.h): every latent's
// softmax over its group's spatial tokens, all latents (kept or not) and every head.
struct ReadAttention {
  torch::Tensor weights;  // [B, G, H, T latents, T tokens], each row sums to 1 over the tokens
  GroupLayout layout;
  int64_t keep = 0;  // latents per group the core ran on
};
using ReadObserver = std::function<void(const ReadAttention&)>;

// Published FiTLayerWModulationLayer (`fit_layer`): modulated grouped cross-attention + MLP.
// cond_features: width of the conditioning vector c (0 = hidden_size, as in SiT; HDiT hands in its
// mapping network's output, which can be narrower or wider than the level it reads).
class ReadLayerImpl : public torch::nn::Module {
 public:
  ReadLayerImpl(int64_t hidden_size, int64_t num_heads, int64_t cond_features = 0);
  // queries: [T, D] (shared by every group), patches: [B, G, T, D], c: [B, F] -> [B, G, T, D]
  // attention: when given, receives the cross-attention weights [B, G, H, T, T].
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& patches,
                        const torch::Tensor& c, torch::Tensor* attention = nullptr);
  torch::nn::ModuleList latents_attend_to_patches{nullptr};  // one CrossAttention
  torch::nn::ModuleList read_ff{nullptr};                    // one Mlp (ratio 1, no bias)
  torch::nn::Sequential adaLN_modulation{nullptr};           // SiLU, Linear(F, 7D)
};
TORCH_MODULE(ReadLayer);

// Options of Read beyond the published SiT use (defaults = published).
struct ReadOptions {
  int64_t cond_features = 0;  // width of c; 0 = hidden_size
  int64_t position_dims = 0;  // > 0: latents get positions (group mean + learnable slot offset)
};

// Published LatentTokensGroupAdapter: the Read operation.
class ReadImpl : public torch::nn::Module {
 public:
  ReadImpl(int64_t hidden_size, int64_t num_heads, int64_t group_size, int64_t latent_rows,
           ReadOptions options = {});
  // x: [B, N, D] spatial tokens, c: [B, F] conditioning -> Read's output for the core and Write.
  // positions: [N, P] spatial positions (only with options.position_dims = P) -> out.positions.
  LatentTokens forward(const torch::Tensor& x, const torch::Tensor& c, const GroupLayout& layout,
                       int64_t keep, const torch::Tensor& positions = {});
  torch::Tensor learned_query_embed;  // [T, D]
  torch::Tensor pos_embed;            // [T, D] in-group position of the spatial tokens
  torch::Tensor latent_pos_embed;     // [latent_rows, D], row = raster index of the latent
  torch::Tensor latent_pos_offset;    // [T, P] learnable slot offsets (position_dims > 0 only)
  ReadLayer fit_layer{nullptr};
  int64_t tokens_per_group;
  // When set, every forward hands it the attention it computed (the forward's own weights).
  ReadObserver observer;
};
TORCH_MODULE(Read);

// Published FiTWriteLayer: the Write operation.
class WriteImpl : public torch::nn::Module {
 public:
  WriteImpl(int64_t hidden_size, int64_t num_heads, int64_t group_size, int64_t depth);
  // core_out: [B, G*keep, D] -> updated spatial tokens [B, N, D]
  torch::Tensor forward(const torch::Tensor& core_out, const LatentTokens& read);
  torch::Tensor pos_embed;  // [T, D]
  torch::nn::ModuleList patches_attend_to_latents{nullptr};
  torch::nn::ModuleList write_ff{nullptr};
};
TORCH_MODULE(Write);

// Published Sequential{Input,Output}TokenEditor: holds the adapter as `adapters.0`, so that the
// parameter names match the published state_dict.
class InputTokenEditorImpl : public torch::nn::Module {
 public:
  explicit InputTokenEditorImpl(Read read);
  torch::nn::ModuleList adapters{nullptr};
  Read read{nullptr};
};
TORCH_MODULE(InputTokenEditor);

class OutputTokenEditorImpl : public torch::nn::Module {
 public:
  explicit OutputTokenEditorImpl(Write write);
  torch::nn::ModuleList adapters{nullptr};
  Write write{nullptr};
};
TORCH_MODULE(OutputTokenEditor);

// Published ELIT initialisation: learned queries and positional tables N(0, 0.02), RMSNorm scales
// 1, zero Read adaLN output, zero Write attention output projection and MLP output layer (so
// that Read/Write start as identity-like residuals). Other linears keep PyTorch's default init.
void initialize_latent_interface(InputTokenEditor& input, OutputTokenEditor& output);

}  // namespace elit::models
