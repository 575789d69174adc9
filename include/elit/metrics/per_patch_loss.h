// The flow-matching loss resolved per patch (E5 in docs/experiments.md): which spatial tokens are
// hard for the model at a given t, to compare with where Read attends.
#pragma once
#include <optional>

#include "elit/flow/rectified_flow.h"
#include "elit/models/diffusion_model.h"

namespace elit::metrics {

// x0, noise: [B, C, H, W], t: [B] -> the squared velocity error of one forward at budget
// `budget`, averaged over the channels and the pixels of every `patch` x `patch` patch:
// [B, H / patch, W / patch]. Its mean over the patches is flow::per_sample_mse of the same
// forward. Throws elit::Error when the patch does not tile the image.
torch::Tensor per_patch_flow_loss(models::DiffusionModel& model, flow::PathType path,
                                  const torch::Tensor& x0, const torch::Tensor& noise,
                                  const torch::Tensor& t, const models::Condition& condition,
                                  std::optional<double> budget, int64_t patch);

}  // namespace elit::metrics
