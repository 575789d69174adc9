// adaLN conditioning shared by every backbone's blocks and the latent interface (DiT's
// adaLN-Zero): a per-sample shift/scale after a parameter-free LayerNorm, and a per-sample gate on
// the residual branch. Both take the fused one-pass kernels where they apply.
#pragma once
#include <torch/types.h>

namespace elit::models {

// LayerNorm without affine parameters (eps 1e-6) followed by x * (1 + scale) + shift, where
// shift/scale are [B, D] and broadcast over the tokens of x: [B, ..., D].
torch::Tensor norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                            const torch::Tensor& scale);

// x + gate * y, gate [B, D] broadcast over the token dims of y, in one pass (DiT's gated
// residual).
torch::Tensor gated_residual(const torch::Tensor& x, const torch::Tensor& gate,
                             const torch::Tensor& y);

// Broadcasts a per-sample vector [B, D] over the token dims of x: [B, ..., D] -> [B, 1.., D].
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like);

}  // namespace elit::models
