#include "elit/train/grad_clip.h"

#include <cmath>

namespace elit::train {

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
  }
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();
  if (!std::isfinite(total) || max_norm <= 0) return total;
  const double coef = std::min(1.0, max_norm / (total + 1e-6));
  // PyTorch multiplies by the clamped coefficient even when it is 1; skipping that is exact.
  if (coef < 1.0) {
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return total;
}

}  // namespace elit::train
