// Feature statistics for Fréchet distances: mean and covariance (N-1 denominator, as np.cov),
// accumulated in float64 batch by batch and mergeable across batches and ranks.
#pragma once
#include <torch/types.h>

#include <cstdint>

namespace elit::metrics {

// The (mu, sigma) pair of ADM's FIDStatistics, with the sample count that produced it.
struct Statistics {
  torch::Tensor mu;     // float64 [D]
  torch::Tensor sigma;  // float64 [D, D]
  int64_t count = 0;    // N; 0 when read from a file that does not record it
  int64_t dim() const { return mu.size(0); }
};

// Running mean and centred co-moment (Chan et al.'s pairwise update), so that merging batches or
// ranks in any order gives the same result as one pass over all rows, without the cancellation of
// a raw sum of squares.
class StatisticsAccumulator {
 public:
  StatisticsAccumulator() = default;
  explicit StatisticsAccumulator(int64_t dim);

  // features: [B, D] any floating type or device; accumulated in float64 on the CPU.
  void add(const torch::Tensor& features);
  void merge(const StatisticsAccumulator& other);

  int64_t count() const { return count_; }
  int64_t dim() const { return dim_; }
  // Needs at least 2 rows (the N-1 covariance); throws elit::Error otherwise.
  Statistics finish() const;

  // (count, mean, co-moment) as one float64 tensor [1 + D + D*D], e.g. for an all-gather across
  // ranks; from_packed() is its inverse.
  torch::Tensor packed() const;
  static StatisticsAccumulator from_packed(const torch::Tensor& packed);

 private:
  int64_t dim_ = -1, count_ = 0;
  torch::Tensor mean_;      // float64 [D]
  torch::Tensor comoment_;  // float64 [D, D]: sum of (x - mean)(x - mean)^T
};

// Statistics of all rows of `features` [N, D] at once.
Statistics compute_statistics(const torch::Tensor& features);

}  // namespace elit::metrics
