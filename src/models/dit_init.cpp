#include "elit/models/dit_init.h"

#include <torch/nn/init.h>

namespace elit::models {

namespace nn = torch::nn;

void xavier_init_linears(nn::Module& root) {
  torch::NoGradGuard no_grad;
  for (auto& module : root.modules(/*include_self=*/false)) {
    if (auto* linear = module->as<nn::Linear>()) {
      nn::init::xavier_uniform_(linear->weight);
      if (linear->bias.defined()) nn::init::zeros_(linear->bias);
    }
  }
}

void init_patch_embed(PatchEmbedImpl& embed) {
  torch::NoGradGuard no_grad;
  auto w = embed.proj->weight;  // [D, C, p, p]
  nn::init::xavier_uniform_(w.view({w.size(0), -1}));
  nn::init::zeros_(embed.proj->bias);
}

void init_embedding_mlp(nn::Sequential& mlp) {
  torch::NoGradGuard no_grad;
  nn::init::normal_(mlp[0]->as<nn::Linear>()->weight, 0.0, 0.02);
  nn::init::normal_(mlp[2]->as<nn::Linear>()->weight, 0.0, 0.02);
}

void zero_init(nn::LinearImpl& linear) {
  torch::NoGradGuard no_grad;
  nn::init::zeros_(linear.weight);
  nn::init::zeros_(linear.bias);
}

}  // namespace elit::models
