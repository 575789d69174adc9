// Inception Score, ADM's formula (from improved-gan): the probabilities are cut into consecutive
// splits of `split_size` rows (the last one shorter when N is not a multiple), each split scores
// exp(mean_i KL(p_i || mean_j p_j)), and the score is the mean over splits.
#pragma once
#include <torch/types.h>

namespace elit::metrics {

// probs: [N, C] class probabilities (rows sum to 1), computed in float64. ADM evaluates 50k
// samples with split_size 5000. Throws elit::Error on a bad shape, negative or non-finite values.
double inception_score(const torch::Tensor& probs, int64_t split_size = 5000);

}  // namespace elit::metrics
