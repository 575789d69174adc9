#include "elit/models/embeddings.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "elit/models/dropout_draws.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

PatchEmbedImpl::PatchEmbedImpl(int64_t in_channels, int64_t hidden_size, int64_t patch_size) {
  proj = register_module(
      "proj",
      nn::Conv2d(nn::Conv2dOptions(in_channels, hidden_size, patch_size).stride(patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  check(x.dim() == 4, "patch embedding expects [B, C, H, W], got ", x.sizes());
  return proj(x).flatten(2).transpose(1, 2);  // [B, D, h, w] -> [B, h*w, D]
}

TimestepEmbedderImpl::TimestepEmbedderImpl(int64_t hidden_size, int64_t frequency_embedding_size)
    : frequency_embedding_size(frequency_embedding_size) {
  mlp = register_module("mlp", nn::Sequential(nn::Linear(frequency_embedding_size, hidden_size),
                                              nn::SiLU(), nn::Linear(hidden_size, hidden_size)));
}

torch::Tensor TimestepEmbedderImpl::frequency_embedding(const torch::Tensor& t, int64_t dim,
                                                        double max_period) {
  const int64_t half = dim / 2;
  // Same operation order and float32 precision as the published code, so that a float64 model
  // agrees with the published float64 forward to ~1e-15.
  auto freqs = torch::exp(-std::log(max_period) *
                          torch::arange(0, half, torch::dtype(torch::kFloat32)) / half)
                   .to(t.device());
  auto args = t.unsqueeze(1).to(torch::kFloat32) * freqs.unsqueeze(0);
  auto embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2)
    embedding = torch::cat({embedding, torch::zeros_like(embedding.narrow(1, 0, 1))}, -1);
  return embedding;
}

torch::Tensor TimestepEmbedderImpl::forward(const torch::Tensor& t) {
  auto freq = frequency_embedding(t, frequency_embedding_size);
  const auto dtype = mlp[0]->as<nn::Linear>()->weight.scalar_type();
  return mlp->forward(freq.to(dtype));
}

LabelEmbedderImpl::LabelEmbedderImpl(int64_t num_classes, int64_t hidden_size, double dropout_prob)
    : num_classes(num_classes), dropout_prob(dropout_prob) {
  const int64_t rows = num_classes + (dropout_prob > 0 ? 1 : 0);
  embedding_table = register_module("embedding_table", nn::Embedding(rows, hidden_size));
}

torch::Tensor LabelEmbedderImpl::forward(const torch::Tensor& labels, bool train) {
  check(labels.scalar_type() == torch::kInt64, "class labels must be int64, got ",
        labels.scalar_type());
  auto y = labels;
  if (train && dropout_prob > 0) {
    auto drop = dropout_uniforms(labels.size(0), labels.device()) < dropout_prob;
    y = torch::where(drop, torch::full_like(labels, num_classes), labels);
  }
  return embedding_table(y);
}

torch::Tensor sincos_pos_embed_2d(int64_t embed_dim, int64_t grid_size) {
  check(embed_dim % 4 == 0, "sin-cos table needs embed_dim % 4 == 0, got ", embed_dim);
  const int64_t quarter = embed_dim / 4;
  auto table = torch::empty({grid_size * grid_size, embed_dim}, torch::kFloat64);
  auto acc = table.accessor<double, 2>();
  // MAE layout: first half encodes the column (numpy meshgrid puts w first), second the row;
  // each half is [sin | cos] over omega = 1 / 10000^(i / quarter).
  for (int64_t r = 0; r < grid_size; ++r) {
    for (int64_t c = 0; c < grid_size; ++c) {
      const int64_t n = r * grid_size + c;
      for (int64_t i = 0; i < quarter; ++i) {
        const double omega =
            1.0 / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(quarter));
        acc[n][i] = std::sin(c * omega);
        acc[n][quarter + i] = std::cos(c * omega);
        acc[n][2 * quarter + i] = std::sin(r * omega);
        acc[n][3 * quarter + i] = std::cos(r * omega);
      }
    }
  }
  return table;
}

}  // namespace elit::models
