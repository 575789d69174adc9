// Shared pieces of the backbone tests (SiT, U-ViT, HDiT, MM-DiT): random class-conditional
// inputs, perturbed weights, block traces, budgets, a tiny overfitting run and the list of
// parameters that received no gradient.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "elit/models/block_trace.h"
#include "elit/models/diffusion_model.h"

namespace elit::testing {

// A class-conditional batch: x [B, C, H, W] ~ N(0, 1), t [B] ~ U(0, 1), labels y [B] in [0, 6)
// (drawn in that order).
struct ClassInputs {
  torch::Tensor x, t, y;
};
ClassInputs class_inputs(int64_t B, int64_t C, int64_t H, int64_t W);

// Each run of `trace` names the block, domain and token count of the same run of `expected`.
void expect_trace(const models::BlockTrace& trace, const models::BlockTrace& expected);

// At every valid budget of `tokens_per_group` the output has the input's shape and is finite; a
// budget that keeps no latent (0.1) is an error.
void expect_output_shape_at_every_valid_budget(models::DiffusionModel& model, const ClassInputs& in,
                                               int64_t tokens_per_group);

// Parameters whose name starts with one of `prefixes` and whose gradient is missing or all zero.
std::vector<std::string> params_without_gradient(const torch::nn::Module& model,
                                                 const std::vector<std::string>& prefixes);

// Adds N(0, scale^2) noise to every parameter (so that zero-initialised gates and projections
// pass gradients through).
void perturb_parameters(torch::nn::Module& model, double scale);

// B smooth random images in [-1, 1] (bilinear upsampling of a 3x3 random grid), like natural
// images dominated by low frequencies.
torch::Tensor smooth_images(int64_t B, int64_t C, int64_t H, int64_t W);

// Rectified-flow loss at fixed noise/t (eval mode, full budget) before and after `steps` AdamW
// steps on `images` [B, C, H, W] with `labels` (training mode: budgets drawn per step).
struct OverfitResult {
  double before = 0, after = 0;
};
OverfitResult overfit(models::DiffusionModel& model, const torch::Tensor& images,
                      const torch::Tensor& labels, int steps, double lr);

}  // namespace elit::testing
