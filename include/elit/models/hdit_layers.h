// Building blocks of HDiT (crowsonkb/k-diffusion k_diffusion/models/image_transformer_v2.py and
// layers.py), with the published attribute names: RMSNorm / AdaRMSNorm (eps 1e-6 inside the
// root), GEGLU, axial RoPE, fixed Fourier features, token merge/split, the mapping network, and
// the axial positions of the token grid. In namespace `hdit` because SiT's RMSNorm differs.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

namespace elit::models::hdit {

// x * (scale * rsqrt(mean(x^2) + eps)), statistics in at least float32 (published rms_norm).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& scale, double eps);
// [..., 2F] -> [..., F]: a * gelu(gate) with exact GELU (published linear_geglu after the matmul).
torch::Tensor geglu(const torch::Tensor& x);
// Rotates the first 2*d features of x by theta [..., d] (published apply_rotary_emb: x1 = the
// first d, x2 = the next d, the rest unchanged), in at least float32.
torch::Tensor apply_rotary_emb(const torch::Tensor& x, const torch::Tensor& theta);
// q, k: [..., d]; scale broadcasts against [..., 1]: cosine-similarity attention scaling, each of
// q and k to norm sqrt(scale) (published scale_for_cosine_sim, eps 1e-6).
std::pair<torch::Tensor, torch::Tensor> scale_for_cosine_sim(const torch::Tensor& q,
                                                             const torch::Tensor& k,
                                                             const torch::Tensor& scale,
                                                             double eps);

// Axial positions of an h x w grid, [h, w, 2] as (y, x): cell centres in a box whose longer side
// spans [-1, 1] (published make_axial_pos; linspace edges in `dtype`, then midpoints).
torch::Tensor make_axial_pos(int64_t h, int64_t w, torch::Dtype dtype = torch::kFloat32);
// [h, w, 2] -> [h/2, w/2, 2]: mean over 2x2 cells (published downscale_pos).
torch::Tensor downscale_pos(const torch::Tensor& pos);

class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t features, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor scale;
  double eps;
};
TORCH_MODULE(RMSNorm);

// rms_norm with scale 1 + linear(cond); the linear starts at zero.
class AdaRMSNormImpl : public torch::nn::Module {
 public:
  AdaRMSNormImpl(int64_t features, int64_t cond_features, double eps = 1e-6);
  // x: [B, ..., D], cond: [B, F] -> [B, ..., D]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond);
  torch::nn::Linear linear{nullptr};
  double eps;
};
TORCH_MODULE(AdaRMSNorm);

// Rotary angles for 2-D positions; buffer freqs [n_heads, dim/4] (published AxialRoPE(dim, n)).
class AxialRoPEImpl : public torch::nn::Module {
 public:
  AxialRoPEImpl(int64_t dim, int64_t n_heads);
  // pos: [..., 2] -> theta [..., n_heads, dim/2] ([h angles | w angles]), in pos's dtype.
  torch::Tensor forward(const torch::Tensor& pos);
  torch::Tensor freqs;
};
TORCH_MODULE(AxialRoPE);

// Fixed random Fourier features; buffer weight [out/2, in] ~ N(0, std^2).
class FourierFeaturesImpl : public torch::nn::Module {
 public:
  FourierFeaturesImpl(int64_t in_features, int64_t out_features, double std = 1.0);
  // x: [B, in] -> [B, out] = [cos f | sin f], f = 2 pi x W^T
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
};
TORCH_MODULE(FourierFeatures);

// [..., H, W, e] -> [..., H/ph, W/pw, out]: each ph x pw patch flattened (ph, pw, e) and projected.
class TokenMergeImpl : public torch::nn::Module {
 public:
  TokenMergeImpl(int64_t in_features, int64_t out_features, int64_t ph = 2, int64_t pw = 2);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear proj{nullptr};
  int64_t ph, pw;
};
TORCH_MODULE(TokenMerge);

// [..., H, W, in] -> [..., H*ph, W*pw, out]; with a skip: lerp(skip, split, fac), fac from 0.5.
class TokenSplitImpl : public torch::nn::Module {
 public:
  TokenSplitImpl(int64_t in_features, int64_t out_features, bool with_skip, int64_t ph = 2,
                 int64_t pw = 2);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip = {});
  torch::nn::Linear proj{nullptr};
  torch::Tensor fac;  // only with_skip (published TokenSplit; TokenSplitWithoutSkip has none)
  int64_t ph, pw;
};
TORCH_MODULE(TokenSplit);

// Pre-norm GEGLU feed-forward with a residual (published MappingFeedForwardBlock).
class MappingFeedForwardBlockImpl : public torch::nn::Module {
 public:
  MappingFeedForwardBlockImpl(int64_t d_model, int64_t d_ff, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  RMSNorm norm{nullptr};
  torch::nn::Linear up_proj{nullptr}, down_proj{nullptr};
  double dropout;
};
TORCH_MODULE(MappingFeedForwardBlock);

class MappingNetworkImpl : public torch::nn::Module {
 public:
  MappingNetworkImpl(int64_t n_layers, int64_t d_model, int64_t d_ff, double dropout);
  // x: [B, D] -> [B, D]
  torch::Tensor forward(const torch::Tensor& x);
  RMSNorm in_norm{nullptr}, out_norm{nullptr};
  torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(MappingNetwork);

}  // namespace elit::models::hdit
