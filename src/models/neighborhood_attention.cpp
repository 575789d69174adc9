#include "elit/models/neighborhood_attention.h"

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit::models {

int64_t neighborhood_window_start(int64_t index, int64_t length, int64_t kernel_size) {
  return std::clamp<int64_t>(index - kernel_size / 2, 0, length - kernel_size);
}

namespace {

// [L, kernel]: the kernel positions of every index's window on one axis.
torch::Tensor axis_windows(int64_t length, int64_t kernel_size) {
  auto start =
      (torch::arange(length, torch::kInt64) - kernel_size / 2).clamp(0, length - kernel_size);
  return start.unsqueeze(1) + torch::arange(kernel_size, torch::kInt64).unsqueeze(0);
}

}  // namespace

torch::Tensor neighborhood_index(int64_t height, int64_t width, int64_t kernel_size,
                                 torch::Device device) {
  check(kernel_size >= 1 && kernel_size % 2 == 1,
        "neighbourhood attention needs an odd kernel "
        "size (as NATTEN), got ",
        kernel_size);
  check(kernel_size <= height && kernel_size <= width, "neighbourhood attention kernel ",
        kernel_size, " does not fit the ", height, "x", width,
        " token grid (NATTEN needs kernel_size <= height and width)");
  auto rows = axis_windows(height, kernel_size);  // [H, k]
  auto cols = axis_windows(width, kernel_size);   // [W, k]
  // [H, 1, k, 1] * W + [1, W, 1, k] -> [H, W, k, k] -> [H*W, k*k]
  auto index =
      rows.view({height, 1, kernel_size, 1}) * width + cols.view({1, width, 1, kernel_size});
  return index.reshape({height * width, kernel_size * kernel_size}).to(device);
}

torch::Tensor neighborhood_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, int64_t kernel_size, double scale) {
  check(q.dim() >= 3 && q.sizes() == k.sizes() && k.sizes() == v.sizes(),
        "neighbourhood attention expects q, k, v of one shape [..., H, W, d], got ", q.sizes(),
        ", ", k.sizes(), ", ", v.sizes());
  const int64_t H = q.size(-3), W = q.size(-2), d = q.size(-1), kk = kernel_size * kernel_size;
  auto index = neighborhood_index(H, W, kernel_size, q.device()).flatten();  // [H*W*kk]
  auto gather = [&](const torch::Tensor& t) {  // [..., H, W, d] -> [..., H*W, kk, d]
    auto sizes = t.sizes().vec();
    sizes.resize(sizes.size() - 3);
    auto out_sizes = sizes;
    out_sizes.insert(out_sizes.end(), {H * W, kk, d});
    return t.flatten(-3, -2).index_select(-2, index).view(out_sizes);
  };
  auto queries = q.flatten(-3, -2).unsqueeze(-2);                     // [..., H*W, 1, d]
  auto scores = torch::matmul(queries, gather(k).transpose(-1, -2));  // [..., H*W, 1, kk]
  if (scale != 1.0) scores = scores * scale;
  auto out = torch::matmul(scores.softmax(-1), gather(v));  // [..., H*W, 1, d]
  return out.squeeze(-2).reshape(q.sizes());
}

}  // namespace elit::models
