// Improved precision and recall (Kynkäänniemi et al. 2019) as the ADM evaluator computes them:
// every point of a set gets a ball whose squared radius is the squared distance to its k-th
// nearest other point of the same set; precision is the fraction of generated points inside ANY
// ball of the real set, recall the fraction of real points inside any ball of the generated set.
#pragma once
#include <torch/types.h>

#include "elit/metrics/progress_callback.h"

namespace elit::metrics {

struct ManifoldOptions {
  int64_t k = 3;  // ADM's nhood_sizes = (3,)
  // Distances are computed in blocks of rows x cols, so memory stays bounded
  // (rows * cols * element size; 4096^2 float64 = 128 MiB) whatever N is.
  int64_t row_batch = 4096, col_batch = 4096;
  // float64 reproduces numpy exactly; float32 is ADM's fallback precision (ADM first tries
  // float16) and several times faster for 2048-d features.
  torch::Dtype dtype = torch::kFloat64;
  torch::Device device = torch::kCPU;
};

struct PrecisionRecall {
  double precision = 0, recall = 0;
};

// Squared distance of every row of features [N, D] to its k-th nearest other row: the (k+1)-th
// smallest squared distance including the row itself, as ADM's partition over [0..k] takes it.
// Throws elit::Error when N < k + 1.
torch::Tensor manifold_radii(const torch::Tensor& features, const ManifoldOptions& o = {},
                             const ProgressCallback& progress = {});

// real: [N1, D] reference features, fake: [N2, D] sample features.
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake,
                                 const ManifoldOptions& o = {},
                                 const ProgressCallback& progress = {});

// ||u_i - v_j||^2 = |u|^2 - 2 u.v + |v|^2, clamped at 0, as ADM's _batch_pairwise_distances.
torch::Tensor squared_distances(const torch::Tensor& u, const torch::Tensor& v);

}  // namespace elit::metrics
