// AdamW with PyTorch's update (torch.optim.AdamW, single-tensor path, amsgrad off), over named
// parameters so that its state is saved by parameter name:
//
//   p   <- p * (1 - lr * weight_decay)
//   m   <- lerp(m, g, 1 - beta1)            v <- beta2 v + (1 - beta2) g^2
//   p   <- p - lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)
//
// with k the parameter's own step count. Parameters without a gradient are left alone, as in
// PyTorch (their step count does not advance).
#pragma once
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "elit/io/safetensors.h"

namespace elit::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;  // published defaults
};

using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

class AdamW {
 public:
  AdamW(NamedParameters params, AdamWOptions options);

  // One update with learning rate `lr` from the parameters' current .grad().
  void step(double lr);
  // Drops every gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  const NamedParameters& parameters() const { return params_; }
  // "<name>.exp_avg", "<name>.exp_avg_sq" (parameter dtype) and "<name>.step" (int64 scalar) for
  // every parameter that has been updated at least once.
  io::TensorMap state_dict() const;
  // Restores a state_dict(); throws elit::Error naming `origin` and the first bad entry.
  void load_state_dict(const io::TensorMap& state, const std::string& origin);

 private:
  struct Slot {
    torch::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  NamedParameters params_;
  AdamWOptions options_;
  std::vector<Slot> slots_;
};

}  // namespace elit::train
