// Spearman's rank correlation (E5 in docs/experiments.md: does Read attend where the loss is?).
#pragma once
#include <torch/types.h>

namespace elit::metrics {

// Ranks 1..n of the values of a 1-D tensor, ties getting the mean of the ranks they span (as
// scipy.stats.rankdata's "average"): float64 [n].
torch::Tensor average_ranks(const torch::Tensor& values);

// Pearson correlation of the average ranks of two equally long 1-D tensors (n >= 2). NaN when
// either is constant; throws elit::Error for unequal lengths or non-finite values.
double spearman_correlation(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace elit::metrics
