// DiT's weight initialisation (published SiT.initialize_weights), shared by SiT, MM-DiT and the
// built-in text encoder, so that every DiT-style backbone starts from the same recipe.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/embeddings.h"

namespace elit::models {

// Xavier-uniform weight and zero bias on every nn::Linear below `root` (itself excluded).
void xavier_init_linears(torch::nn::Module& root);

// The patch conv initialised like a linear over its flattened kernel [D, C*p*p], zero bias.
void init_patch_embed(PatchEmbedImpl& embed);

// N(0, 0.02) on the two linears of an embedding MLP (Linear, SiLU, Linear): the timestep MLP,
// MM-DiT's pooled-vector MLP.
void init_embedding_mlp(torch::nn::Sequential& mlp);

// adaLN-Zero: zero weight and bias, so that the branch starts as the identity.
void zero_init(torch::nn::LinearImpl& linear);

}  // namespace elit::models
