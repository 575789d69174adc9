#include "elit/metrics/spearman.h"

#include <limits>

#include "elit/runtime/error.h"

namespace elit::metrics {

torch::Tensor average_ranks(const torch::Tensor& values) {
  check(values.dim() == 1, "ranks need a 1-D tensor, got ", values.sizes());
  const auto v = values.to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t n = v.size(0);
  const auto order = v.argsort().contiguous();  // ascending
  const auto* x = v.data_ptr<double>();
  const auto* o = order.data_ptr<int64_t>();
  auto ranks = torch::empty({n}, torch::kFloat64);
  auto* r = ranks.data_ptr<double>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;  // [i, j] is a run of ties
    while (j + 1 < n && x[o[j + 1]] == x[o[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (int64_t k = i; k <= j; ++k) r[o[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

double spearman_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  check(a.dim() == 1 && b.dim() == 1 && a.size(0) == b.size(0), "Spearman correlation needs two ",
        "equally long 1-D tensors, got ", a.sizes(), " and ", b.sizes());
  check(a.size(0) >= 2, "Spearman correlation needs at least 2 values, got ", a.size(0));
  check(torch::isfinite(a).all().item<bool>() && torch::isfinite(b).all().item<bool>(),
        "Spearman correlation of non-finite values");
  const auto ra = average_ranks(a), rb = average_ranks(b);
  const auto da = ra - ra.mean(), db = rb - rb.mean();
  const double denom = std::sqrt((da * da).sum().item<double>() * (db * db).sum().item<double>());
  if (denom == 0) return std::numeric_limits<double>::quiet_NaN();
  return (da * db).sum().item<double>() / denom;
}

}  // namespace elit::metrics
