// Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared maximum
// mean discrepancy with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3.
#pragma once
#include <torch/types.h>

#include <cstdint>

#include "elit/metrics/progress_callback.h"

namespace elit::metrics {

struct KidOptions {
  // 0: one estimate over the full two sets. > 0: the mean (and standard deviation) over this many
  // random subsets of `subset_size` rows drawn without replacement from each set, as
  // torch-fidelity and clean-fid do (100 subsets of 1000 is their default).
  int64_t subsets = 0;
  int64_t subset_size = 1000;
  uint64_t seed = 0;
  int64_t block = 4096;  // kernel rows x cols computed at once (bounded memory)
};

struct KidResult {
  double value = 0;  // the estimate (mean over subsets)
  double std = 0;    // standard deviation over subsets (0 for the full sets)
  int64_t subsets = 0, subset_size = 0;
};

// Unbiased MMD^2 of x [M, D] and y [N, D] (M, N >= 2), in float64:
//   sum_{i!=j} k(x_i,x_j)/(M(M-1)) + sum_{i!=j} k(y_i,y_j)/(N(N-1)) - 2 sum k(x_i,y_j)/(MN).
double mmd2_unbiased(const torch::Tensor& x, const torch::Tensor& y, int64_t block = 4096);

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake,
                                    const KidOptions& o = {},
                                    const ProgressCallback& progress = {});

}  // namespace elit::metrics
