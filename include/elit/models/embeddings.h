// Input embeddings of SiT (published models/sit.py): patches, timesteps, class labels, and the
// fixed 2-D sin-cos positional table.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

namespace elit::models {

// Conv patch embedding (timm PatchEmbed, published name `x_embedder.proj`).
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t in_channels, int64_t hidden_size, int64_t patch_size);
  // x: [B, C, H, W] -> [B, (H/p)*(W/p), D], tokens in raster order
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// 256-d sinusoidal frequency embedding + MLP (published `t_embedder`).
class TimestepEmbedderImpl : public torch::nn::Module {
 public:
  explicit TimestepEmbedderImpl(int64_t hidden_size, int64_t frequency_embedding_size = 256);
  // t: [B] -> [B, D]
  torch::Tensor forward(const torch::Tensor& t);
  // GLIDE's embedding [cos | sin], computed in float32 whatever t's dtype, as published.
  static torch::Tensor frequency_embedding(const torch::Tensor& t, int64_t dim,
                                           double max_period = 10000.0);
  torch::nn::Sequential mlp{nullptr};
  int64_t frequency_embedding_size;
};
TORCH_MODULE(TimestepEmbedder);

// Class embedding table with a null class (index num_classes) when dropout_prob > 0, used by
// classifier-free guidance; in training, labels are dropped to the null class with dropout_prob.
class LabelEmbedderImpl : public torch::nn::Module {
 public:
  LabelEmbedderImpl(int64_t num_classes, int64_t hidden_size, double dropout_prob);
  // labels: [B] int64 -> [B, D]
  torch::Tensor forward(const torch::Tensor& labels, bool train);
  torch::nn::Embedding embedding_table{nullptr};
  int64_t num_classes;
  double dropout_prob;
};
TORCH_MODULE(LabelEmbedder);

// MAE's 2-D sin-cos table for a grid_size x grid_size grid, float64 [grid^2, embed_dim].
torch::Tensor sincos_pos_embed_2d(int64_t embed_dim, int64_t grid_size);

}  // namespace elit::models
