#include "elit/models/text_encoder.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/dit_init.h"
#include "elit/runtime/error.h"
#include "elit/text/tokenizer.h"

namespace elit::models {

namespace nn = torch::nn;

TextEncoderLayerImpl::TextEncoderLayerImpl(int64_t width, int64_t num_heads) {
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-6)));
  attn = register_module("attn", MMDiTAttention(width, num_heads, /*qkv_bias=*/true,
                                                /*pre_only=*/false, /*qk_norm=*/""));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-6)));
  mlp = register_module("mlp", Mlp(width, 4 * width, width));
}

torch::Tensor TextEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto qkv = attn->pre_attention(norm1(x));  // each [B, H, L, d]
  auto h = x + attn->post_attention(masked_attention(qkv[0], qkv[1], qkv[2], mask));
  return h + mlp(norm2(h));
}

TextEncoderImpl::TextEncoderImpl(int64_t vocab_size, int64_t max_tokens, int64_t width,
                                 int64_t depth, int64_t num_heads) {
  token_embedding = register_module("token_embedding", nn::Embedding(vocab_size, width));
  position_embedding =
      register_parameter("position_embedding", torch::randn({max_tokens, width}) * 0.02);
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) layers->push_back(TextEncoderLayer(width, num_heads));
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-6)));
  torch::NoGradGuard no_grad;
  // GPT-2/CLIP-style initialisation: N(0, 0.02) embeddings, xavier linears with zero bias.
  nn::init::normal_(token_embedding->weight, 0.0, 0.02);
  xavier_init_linears(*this);
}

EncodedText TextEncoderImpl::forward(const torch::Tensor& tokens) {
  const int64_t vocab = token_embedding->weight.size(0), max_tokens = position_embedding.size(0);
  check(tokens.dim() == 2 && tokens.scalar_type() == torch::kInt64,
        "text tokens must be int64 [B, L], got ", tokens.scalar_type(), " ", tokens.sizes());
  check(tokens.size(1) >= 1 && tokens.size(1) <= max_tokens, "text tokens have length ",
        tokens.size(1), "; the text encoder takes 1..", max_tokens, " (text_max_tokens)");
  if (tokens.numel() > 0) {
    check(tokens.min().item<int64_t>() >= 0 && tokens.max().item<int64_t>() < vocab,
          "text token ids must be in [0, ", vocab, ") for this vocabulary");
    check((tokens.select(1, 0) == text::WordTokenizer::kStart).all().item<bool>(),
          "every token row must begin with the start token (id ", text::WordTokenizer::kStart,
          "); encode prompts with the model's tokenizer");
  }
  EncodedText out;
  out.mask = text::WordTokenizer::mask(tokens);
  // [B, L, W] + [L, W]
  auto x = token_embedding(tokens) + position_embedding.narrow(0, 0, tokens.size(1));
  for (const auto& layer : *layers) x = layer->as<TextEncoderLayer>()->forward(x, out.mask);
  out.context = norm(x);
  out.pooled = out.context.select(1, 0);  // the start token's output: [B, W]
  return out;
}

}  // namespace elit::models
