// Preview samples during training (the published train.py samples every `sampling_steps`): an
// Euler ODE from noise (t = 1) to data (t = 0) with classifier-free guidance, as the published
// euler_sampler (50 steps, scale 4). Only a progress picture; the sampling module has the real
// samplers.
#pragma once
#include <torch/types.h>

#include "elit/models/diffusion_model.h"

namespace elit::train {

struct PreviewOptions {
  int64_t steps = 50;
  double cfg_scale = 4.0;
  std::optional<double> budget;  // unset: the full budget
};

// noise: [B, C, H, W], labels: [B] -> samples [B, C, H, W]. Runs without gradients in eval mode
// and restores the model's training mode.
torch::Tensor preview_samples(models::DiffusionModel& model, const torch::Tensor& noise,
                              const torch::Tensor& labels, const PreviewOptions& options = {});

}  // namespace elit::train
