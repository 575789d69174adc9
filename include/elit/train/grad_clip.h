// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (what accelerate's clip_grad_norm_
// calls in the published train.py): total = ||(||g_1||, ..., ||g_n||)||_2, every gradient scaled
// by min(1, max_norm / (total + 1e-6)).
#pragma once
#include <torch/types.h>

#include <vector>

namespace elit::train {

// Returns the total norm before clipping (a float64 value; +inf or NaN when a gradient is not
// finite, in which case nothing is scaled: the caller skips the step). Parameters without a
// gradient are ignored. max_norm <= 0 only measures.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace elit::train
