#include "elit/flow/rectified_flow.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::flow {

PathType parse_path_type(const std::string& name) {
  if (name == "linear") return PathType::kLinear;
  if (name == "cosine") return PathType::kCosine;
  fail("unknown path_type '", name, "' (expected linear or cosine)");
}

TimeSampling parse_time_sampling(const std::string& name) {
  if (name == "uniform") return TimeSampling::kUniform;
  if (name == "lognormal") return TimeSampling::kLogNormal;
  fail("unknown weighting '", name, "' (expected uniform or lognormal)");
}

std::string to_string(PathType path) {
  return path == PathType::kLinear ? "linear" : "cosine";
}

std::string to_string(TimeSampling sampling) {
  return sampling == TimeSampling::kUniform ? "uniform" : "lognormal";
}

Interpolant interpolant(PathType path, const torch::Tensor& t) {
  if (path == PathType::kLinear) {
    return {1 - t, t, torch::full_like(t, -1.0), torch::ones_like(t)};
  }
  const auto angle = t * (M_PI / 2);
  const auto s = torch::sin(angle), c = torch::cos(angle);
  return {c, s, -(M_PI / 2) * s, (M_PI / 2) * c};
}

torch::Tensor sample_time(TimeSampling sampling, PathType path, int64_t batch,
                          const torch::TensorOptions& options) {
  torch::Tensor t;
  if (sampling == TimeSampling::kUniform) {
    t = torch::rand({batch});
  } else {
    // EDM's log-normal noise levels (loss.py): sigma = exp(n), mapped to the path's time.
    const auto sigma = torch::randn({batch}).exp();
    t = path == PathType::kLinear ? sigma / (1 + sigma) : (2 / M_PI) * torch::atan(sigma);
  }
  return t.to(options);
}

FlowSample flow_sample(PathType path, const torch::Tensor& x0, const torch::Tensor& noise,
                       const torch::Tensor& t) {
  check(x0.sizes() == noise.sizes(), "flow: x0 ", x0.sizes(), " and noise ", noise.sizes(),
        " differ in shape");
  check(t.dim() == 1 && t.size(0) == x0.size(0), "flow: t must be [", x0.size(0), "], got ",
        t.sizes());
  std::vector<int64_t> shape(x0.dim(), 1);
  shape[0] = x0.size(0);
  const auto c = interpolant(path, t.view(shape));  // each [B, 1, 1, 1]
  return {c.alpha * x0 + c.sigma * noise, c.d_alpha * x0 + c.d_sigma * noise};
}

torch::Tensor per_sample_mse(const torch::Tensor& output, const torch::Tensor& target) {
  check(output.sizes() == target.sizes(), "flow: model output ", output.sizes(),
        " does not match the target ", target.sizes());
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < target.dim(); ++d) dims.push_back(d);
  return (output.to(target.scalar_type()) - target).pow(2).mean(dims);
}

torch::Tensor FlowObjective::loss(models::DiffusionModel& model, const torch::Tensor& x0,
                                  const torch::Tensor& noise, const torch::Tensor& t,
                                  const models::Condition& condition,
                                  std::optional<double> budget) const {
  const auto s = flow_sample(path, x0, noise, t);
  return per_sample_mse(model.forward(s.x_t, t, condition, budget), s.target);
}

torch::Tensor FlowObjective::loss(models::DiffusionModel& model, const torch::Tensor& x0,
                                  const models::Condition& condition,
                                  std::optional<double> budget) const {
  const auto t = sample_time(time_sampling, path, x0.size(0), x0.options());
  const auto noise = torch::randn_like(x0);
  return loss(model, x0, noise, t, condition, budget);
}

}  // namespace elit::flow
