#include "elit/metrics/statistics.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {

StatisticsAccumulator::StatisticsAccumulator(int64_t dim)
    : dim_(dim),
      mean_(torch::zeros({dim}, torch::kFloat64)),
      comoment_(torch::zeros({dim, dim}, torch::kFloat64)) {
  check(dim > 0, "feature statistics need a positive feature size, got ", dim);
}

void StatisticsAccumulator::add(const torch::Tensor& features) {
  check(features.dim() == 2, "feature statistics expect features [N, D], got shape ",
        features.sizes());
  if (dim_ < 0) *this = StatisticsAccumulator(features.size(1));
  check(features.size(1) == dim_, "feature size mismatch: accumulating ", dim_,
        "-d features, got a batch of ", features.size(1), "-d features");
  if (features.size(0) == 0) return;
  StatisticsAccumulator batch(dim_);
  const auto x = features.detach().to(torch::kCPU, torch::kFloat64);
  batch.count_ = x.size(0);
  batch.mean_ = x.mean(0);
  const auto centred = x - batch.mean_;
  batch.comoment_ = centred.t().mm(centred);
  merge(batch);
}

void StatisticsAccumulator::merge(const StatisticsAccumulator& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    mean_ = other.mean_.clone(), comoment_ = other.comoment_.clone();
    return;
  }
  check(other.dim_ == dim_, "feature size mismatch: merging ", other.dim_, "-d statistics into ",
        dim_, "-d statistics");
  const double na = static_cast<double>(count_), nb = static_cast<double>(other.count_);
  const auto delta = other.mean_ - mean_;
  // Chan, Golub & LeVeque: M = Ma + Mb + delta delta^T * na nb / n.
  comoment_ = comoment_ + other.comoment_ + torch::outer(delta, delta) * (na * nb / (na + nb));
  mean_ = mean_ + delta * (nb / (na + nb));
  count_ += other.count_;
}

Statistics StatisticsAccumulator::finish() const {
  check(count_ >= 2, "feature statistics need at least 2 samples for a covariance, got ", count_);
  Statistics s;
  s.mu = mean_.clone();
  s.sigma = comoment_ / static_cast<double>(count_ - 1);
  s.sigma = (s.sigma + s.sigma.t()) * 0.5;  // exactly symmetric, as np.cov's result is
  s.count = count_;
  return s;
}

torch::Tensor StatisticsAccumulator::packed() const {
  check(dim_ > 0, "cannot pack empty feature statistics (no feature size yet)");
  return torch::cat({torch::full({1}, static_cast<double>(count_), torch::kFloat64), mean_,
                     comoment_.reshape(-1)});
}

StatisticsAccumulator StatisticsAccumulator::from_packed(const torch::Tensor& packed) {
  check(packed.dim() == 1 && packed.size(0) >= 3, "packed statistics must be 1-D [1 + D + D*D]");
  const auto p = packed.to(torch::kCPU, torch::kFloat64);
  const auto n = p.size(0) - 1;
  const auto dim = static_cast<int64_t>(std::llround((-1.0 + std::sqrt(1.0 + 4.0 * n)) / 2.0));
  check(dim > 0 && dim + dim * dim == n, "packed statistics of length ", p.size(0),
        " do not have the form 1 + D + D*D");
  StatisticsAccumulator acc(dim);
  acc.count_ = static_cast<int64_t>(std::llround(p[0].item<double>()));
  acc.mean_ = p.slice(0, 1, 1 + dim).clone();
  acc.comoment_ = p.slice(0, 1 + dim).reshape({dim, dim}).clone();
  return acc;
}

Statistics compute_statistics(const torch::Tensor& features) {
  StatisticsAccumulator acc;
  acc.add(features);
  return acc.finish();
}

}  // namespace elit::metrics
