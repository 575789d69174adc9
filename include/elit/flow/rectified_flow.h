// The rectified-flow training objective of the published loss.py (SILoss): an interpolant between
// data (t = 0) and noise (t = 1), a velocity target, a time distribution, and a per-sample mean
// squared error.
//
//   x_t    = alpha_t x0 + sigma_t eps
//   target = d_alpha_t x0 + d_sigma_t eps          (prediction "v", the only published one)
//   linear: alpha = 1 - t, sigma = t;  cosine: alpha = cos(pi t / 2), sigma = sin(pi t / 2)
#pragma once
#include <torch/types.h>

#include <optional>
#include <string>

#include "elit/models/diffusion_model.h"

namespace elit::flow {

enum class PathType { kLinear, kCosine };
// Published key `weighting`: how training times are drawn.
enum class TimeSampling { kUniform, kLogNormal };

// "linear" | "cosine"; throws elit::Error naming the value otherwise.
PathType parse_path_type(const std::string& name);
// "uniform" | "lognormal".
TimeSampling parse_time_sampling(const std::string& name);
std::string to_string(PathType path);
std::string to_string(TimeSampling sampling);

struct Interpolant {
  torch::Tensor alpha, sigma, d_alpha, d_sigma;  // each the shape of t
};

// Coefficients at times t (any shape, floating point).
Interpolant interpolant(PathType path, const torch::Tensor& t);

// Training times [batch] from torch's default generator, as published: uniform U[0, 1), or
// log-normal sigma = exp(n), n ~ N(0, 1), mapped to t = sigma / (1 + sigma) (linear) or
// 2/pi atan(sigma) (cosine). Drawn in float32 (torch.rand's default) and then cast, so that a
// float64 run sees the same times as a float32 run.
torch::Tensor sample_time(TimeSampling sampling, PathType path, int64_t batch,
                          const torch::TensorOptions& options);

struct FlowSample {
  torch::Tensor x_t;     // model input [B, ...]
  torch::Tensor target;  // velocity target [B, ...]
};

// x0, noise: [B, ...], t: [B] -> the model input and its velocity target.
FlowSample flow_sample(PathType path, const torch::Tensor& x0, const torch::Tensor& noise,
                       const torch::Tensor& t);

// Published mean_flat((output - target)^2): [B, ...] -> [B]. Computed in the target's dtype
// (float32 under autocast: the model output may be bfloat16).
torch::Tensor per_sample_mse(const torch::Tensor& output, const torch::Tensor& target);

struct FlowObjective {
  PathType path = PathType::kLinear;
  TimeSampling time_sampling = TimeSampling::kUniform;

  // Per-sample losses [B] for given noise and times (x0, noise: [B, C, H, W], t: [B]).
  torch::Tensor loss(models::DiffusionModel& model, const torch::Tensor& x0,
                     const torch::Tensor& noise, const torch::Tensor& t,
                     const models::Condition& condition, std::optional<double> budget) const;
  // Draws t then the noise from torch's default generator (the published order), then as above.
  torch::Tensor loss(models::DiffusionModel& model, const torch::Tensor& x0,
                     const models::Condition& condition, std::optional<double> budget) const;
};

}  // namespace elit::flow
