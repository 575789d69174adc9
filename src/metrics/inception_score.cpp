#include "elit/metrics/inception_score.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {

double inception_score(const torch::Tensor& probs, int64_t split_size) {
  check(probs.dim() == 2 && probs.size(0) > 0 && probs.size(1) > 0,
        "inception score expects probabilities [N, C] with N, C > 0, got shape ", probs.sizes());
  check(split_size > 0, "inception score split size must be positive, got ", split_size);
  const auto p = probs.detach().to(torch::kCPU, torch::kFloat64);
  check(torch::isfinite(p).all().item<bool>() && (p >= 0).all().item<bool>(),
        "inception score probabilities must be finite and non-negative");
  double total = 0;
  int64_t splits = 0;
  for (int64_t begin = 0; begin < p.size(0); begin += split_size, ++splits) {
    const auto part = p.slice(0, begin, std::min(begin + split_size, p.size(0)));
    const auto marginal = part.mean(0, /*keepdim=*/true);
    // xlogy takes 0 log 0 = 0 (the limit), where numpy's formula would give NaN for exactly-zero
    // probabilities (e.g. one-hot rows); elsewhere it is the same expression.
    const auto kl = torch::xlogy(part, part) - torch::xlogy(part, marginal.expand_as(part));
    total += std::exp(kl.sum(1).mean().item<double>());
  }
  return total / static_cast<double>(splits);
}

}  // namespace elit::metrics
