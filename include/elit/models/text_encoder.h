// The built-in text path's encoder, trained with the model (for experiments without a CLIP/T5
// encoder on the machine): token embedding + learned positions + pre-LayerNorm transformer
// layers with masked self-attention + a final LayerNorm. The context is every token's output;
// the pooled vector is the start token's output (it attends to the whole prompt, like CLIP's
// pooled end token or BERT's class token).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "elit/models/mlp.h"
#include "elit/models/mmdit_block.h"

namespace elit::models {

struct EncodedText {
  torch::Tensor context;  // [B, L, W]
  torch::Tensor mask;     // [B, L] bool, true where a real token is
  torch::Tensor pooled;   // [B, W]
};

class TextEncoderLayerImpl : public torch::nn::Module {
 public:
  TextEncoderLayerImpl(int64_t width, int64_t num_heads);
  // x: [B, L, W], mask: [B, L] -> [B, L, W]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  MMDiTAttention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(TextEncoderLayer);

class TextEncoderImpl : public torch::nn::Module {
 public:
  TextEncoderImpl(int64_t vocab_size, int64_t max_tokens, int64_t width, int64_t depth,
                  int64_t num_heads);
  // tokens: [B, L] int64 (L <= max_tokens, the start token first, padding = 0) -> context,
  // mask, pooled. Throws elit::Error for out-of-vocabulary ids, L > max_tokens or a missing start
  // token.
  EncodedText forward(const torch::Tensor& tokens);
  torch::nn::Embedding token_embedding{nullptr};
  torch::Tensor position_embedding;  // [max_tokens, W]
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(TextEncoder);

}  // namespace elit::models
