// Shared checks of the ELIT backbone tests (U-ViT, HDiT): a tiny overfitting run and the list of
// parameters that received no gradient.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "elit/models/diffusion_model.h"

namespace elit::testing {

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
