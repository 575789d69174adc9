// 2-D neighbourhood attention with NATTEN semantics (na2d, dilation 1, no relative position
// bias), in plain libtorch: every query attends to exactly kernel x kernel keys, the window
// centred on the query and shifted inward at the borders, so a query near an edge sees the same
// number of keys as one in the middle. Implemented as an exact gather of each query's keys.
#pragma once
#include <torch/types.h>

namespace elit::models {

// First row (or column) of the window of position `index` on an axis of `length` tokens:
// clamp(index - kernel/2, 0, length - kernel) (NATTEN get_window_start).
int64_t neighborhood_window_start(int64_t index, int64_t length, int64_t kernel_size);

// Raster index of every query's keys: int64 [H*W, kernel*kernel], keys in raster order inside
// the window. Requires an odd kernel_size <= min(H, W).
torch::Tensor neighborhood_index(int64_t height, int64_t width, int64_t kernel_size,
                                 torch::Device device = torch::kCPU);

// q, k, v: [..., H, W, d] -> [..., H, W, d]: softmax(scale * q.k) v over each query's window.
torch::Tensor neighborhood_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, int64_t kernel_size,
                                     double scale = 1.0);

}  // namespace elit::models
