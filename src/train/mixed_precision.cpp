#include "elit/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "elit/runtime/error.h"

// libtorch 2.4 replaced the per-device autocast functions with device-type arguments.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ELIT_AUTOCAST_DEVICE_API 1
#endif

namespace elit::train {
namespace {

bool autocast_enabled(bool cuda) {
#ifdef ELIT_AUTOCAST_DEVICE_API
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

torch::ScalarType autocast_dtype(bool cuda) {
#ifdef ELIT_AUTOCAST_DEVICE_API
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast(bool cuda, bool enabled, torch::ScalarType dtype) {
#ifdef ELIT_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

Precision parse_mixed_precision(const std::string& name) {
  if (name == "no" || name == "float32" || name == "fp32") return Precision::kFloat32;
  if (name == "bf16" || name == "bfloat16") return Precision::kBFloat16;
  if (name == "fp16" || name == "float16") return Precision::kFloat16;
  fail("unknown mixed_precision '", name, "' (expected no, bf16 or fp16)");
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kBFloat16:
      return "bf16";
    case Precision::kFloat16:
      return "fp16";
    default:
      return "no";
  }
}

AutocastGuard::AutocastGuard(Precision precision, torch::Device device) {
  if (precision == Precision::kFloat32) return;
  cuda_ = device.is_cuda();
  check(cuda_ || precision == Precision::kBFloat16,
        "mixed_precision fp16 needs a CUDA device (CPU autocast supports bf16 only)");
  previous_enabled_ = autocast_enabled(cuda_);
  previous_dtype_ = autocast_dtype(cuda_);
  set_autocast(cuda_, true, precision == Precision::kBFloat16 ? torch::kBFloat16 : torch::kHalf);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The weight casts are cached while any autocast region is open; drop them at the outermost.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(cuda_, previous_enabled_, previous_dtype_);
}

LossScaler::LossScaler(bool enabled, double init_scale, int64_t growth_interval)
    : enabled_(enabled), scale_(init_scale), growth_interval_(growth_interval) {}

torch::Tensor LossScaler::scale_loss(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_ : loss;
}

void LossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return;
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().div_(scale_);
  }
}

void LossScaler::update(bool found_non_finite) {
  if (!enabled_) return;
  if (found_non_finite) {
    scale_ *= 0.5;
    good_steps_ = 0;
  } else if (++good_steps_ == growth_interval_) {
    scale_ *= 2.0;
    good_steps_ = 0;
  }
}

nlohmann::json LossScaler::state() const {
  return {{"enabled", enabled_}, {"scale", scale_}, {"good_steps", good_steps_}};
}

void LossScaler::load_state(const nlohmann::json& state) {
  check(state.is_object() && state.contains("scale") && state.contains("good_steps"),
        "corrupt loss scaler state in checkpoint: ", state.dump());
  scale_ = state["scale"].get<double>();
  good_steps_ = state["good_steps"].get<int64_t>();
}

}  // namespace elit::train
