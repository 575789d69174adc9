// Mixed precision (published key `mixed_precision`: no | bf16 | fp16, as accelerate): weights,
// optimizer and EMA stay float32; forward passes run under autocast in the lower precision.
// fp16 also needs dynamic loss scaling (torch.cuda.amp.GradScaler's rule), and is CUDA-only.
#pragma once
#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace elit::train {

enum class Precision { kFloat32, kBFloat16, kFloat16 };

// "no" | "bf16" | "fp16" (also "float32", "bfloat16", "float16").
Precision parse_mixed_precision(const std::string& name);
std::string to_string(Precision precision);

// Autocast on `device` in `precision` for the guard's lifetime (nothing for float32); restores
// the previous autocast state on exit. Throws elit::Error for fp16 on a CPU (libtorch's CPU
// autocast supports bfloat16 only).
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, torch::Device device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false, cuda_ = false, previous_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat32;
};

// Dynamic loss scaling: the loss is multiplied by `scale` before backward, gradients divided by
// it before clipping; a non-finite gradient halves the scale (the step is skipped), 2000 finite
// steps in a row double it. Disabled, it is the identity.
class LossScaler {
 public:
  explicit LossScaler(bool enabled, double init_scale = 65536.0, int64_t growth_interval = 2000);
  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  torch::Tensor scale_loss(const torch::Tensor& loss) const;
  void unscale(const std::vector<torch::Tensor>& params) const;
  // After every optimizer step attempt: whether the gradients were non-finite.
  void update(bool found_non_finite);
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  bool enabled_;
  double scale_;
  int64_t growth_interval_, good_steps_ = 0;
};

}  // namespace elit::train
