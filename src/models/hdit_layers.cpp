#include "elit/models/hdit_layers.h"

#include <torch/nn/init.h>

#include <cmath>

#include "elit/models/adaln.h"
#include "elit/runtime/error.h"

namespace elit::models::hdit {

namespace nn = torch::nn;

namespace {

constexpr double kPi = 3.141592653589793;  // Python's math.pi

// reduce(torch.promote_types, (..., torch.float32)): the published kernels' compute dtype.
torch::Dtype at_least_float32(torch::Dtype a, torch::Dtype b = torch::kFloat32) {
  return torch::promote_types(torch::promote_types(a, b), torch::kFloat32);
}

nn::Linear linear(int64_t in, int64_t out) {
  return nn::Linear(nn::LinearOptions(in, out).bias(false));
}

// Published zero_init(Linear(...)).
nn::Linear zero_linear(int64_t in, int64_t out) {
  auto l = linear(in, out);
  torch::NoGradGuard no_grad;
  l->weight.zero_();
  return l;
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& scale, double eps) {
  const auto dtype = at_least_float32(x.scalar_type(), scale.scalar_type());
  auto mean_sq = x.to(dtype).pow(2).mean(-1, /*keepdim=*/true);
  return x * (scale.to(dtype) * torch::rsqrt(mean_sq + eps)).to(x.scalar_type());
}

torch::Tensor geglu(const torch::Tensor& x) {
  auto parts = x.chunk(2, -1);  // value, gate
  return parts[0] * torch::gelu(parts[1]);
}

torch::Tensor apply_rotary_emb(const torch::Tensor& x, const torch::Tensor& theta) {
  const auto dtype = at_least_float32(x.scalar_type(), theta.scalar_type());
  const int64_t d = theta.size(-1);
  check(2 * d <= x.size(-1), "rotary embedding of ", d, " angles needs >= ", 2 * d,
        " features, got ", x.size(-1));
  auto x1 = x.narrow(-1, 0, d).to(dtype), x2 = x.narrow(-1, d, d).to(dtype);
  auto th = theta.to(dtype);
  auto cos = torch::cos(th), sin = torch::sin(th);
  auto y1 = (x1 * cos - x2 * sin).to(x.scalar_type());
  auto y2 = (x2 * cos + x1 * sin).to(x.scalar_type());
  return torch::cat({y1, y2, x.narrow(-1, 2 * d, x.size(-1) - 2 * d)}, -1);
}

std::pair<torch::Tensor, torch::Tensor> scale_for_cosine_sim(const torch::Tensor& q,
                                                             const torch::Tensor& k,
                                                             const torch::Tensor& scale,
                                                             double eps) {
  const auto dtype =
      at_least_float32(torch::promote_types(q.scalar_type(), k.scalar_type()), scale.scalar_type());
  auto sum_sq_q = q.to(dtype).pow(2).sum(-1, /*keepdim=*/true);
  auto sum_sq_k = k.to(dtype).pow(2).sum(-1, /*keepdim=*/true);
  auto sqrt_scale = torch::sqrt(scale.to(dtype));
  auto scale_q = sqrt_scale * torch::rsqrt(sum_sq_q + eps);
  auto scale_k = sqrt_scale * torch::rsqrt(sum_sq_k + eps);
  return {q * scale_q.to(q.scalar_type()), k * scale_k.to(k.scalar_type())};
}

torch::Tensor make_axial_pos(int64_t h, int64_t w, torch::Dtype dtype) {
  // Published bounding_box(h, w) with pixel aspect ratio 1, in double as Python computes it.
  const double ar = static_cast<double>(w) / static_cast<double>(h);
  double y_min = -1, y_max = 1, x_min = -1, x_max = 1;
  if (ar > 1) {
    y_min = -1 / ar;
    y_max = 1 / ar;
  } else if (ar < 1) {
    x_min = -ar;
    x_max = ar;
  }
  // Published centers(): float32 linspace edges, then midpoints.
  auto centers = [&](double start, double stop, int64_t num) {
    auto edges = torch::linspace(start, stop, num + 1, torch::dtype(dtype));
    return (edges.narrow(0, 0, num) + edges.narrow(0, 1, num)) / 2;
  };
  auto grid = torch::meshgrid({centers(y_min, y_max, h), centers(x_min, x_max, w)}, "ij");
  return torch::stack({grid[0], grid[1]}, -1);  // [h, w, 2]
}

torch::Tensor downscale_pos(const torch::Tensor& pos) {
  const int64_t h = pos.size(0) / 2, w = pos.size(1) / 2, e = pos.size(2);
  // '(h nh) (w nw) e -> h w (nh nw) e' then mean over (nh nw): [h, 2, w, 2, e] -> [h, w, 2, 2, e]
  return pos.reshape({h, 2, w, 2, e}).permute({0, 2, 1, 3, 4}).reshape({h, w, 4, e}).mean(-2);
}

RMSNormImpl::RMSNormImpl(int64_t features, double eps) : eps(eps) {
  scale = register_parameter("scale", torch::ones({features}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  return rms_norm(x, scale, eps);
}

AdaRMSNormImpl::AdaRMSNormImpl(int64_t features, int64_t cond_features, double eps) : eps(eps) {
  linear = register_module("linear", zero_linear(cond_features, features));
}

torch::Tensor AdaRMSNormImpl::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  // Published: linear(cond)[:, None, None, :] + 1, for any number of token dims here.
  return rms_norm(x, per_sample(linear(cond), x) + 1, eps);
}

AxialRoPEImpl::AxialRoPEImpl(int64_t dim, int64_t n_heads) {
  const double log_min = std::log(kPi), log_max = std::log(10.0 * kPi);
  const int64_t per_head = dim / 4;
  auto f = torch::linspace(log_min, log_max, n_heads * per_head + 1, torch::kFloat32)
               .narrow(0, 0, n_heads * per_head)
               .exp();
  freqs = register_buffer("freqs", f.view({per_head, n_heads}).t().contiguous());
}

torch::Tensor AxialRoPEImpl::forward(const torch::Tensor& pos) {
  auto f = freqs.to(pos.scalar_type());
  auto theta_h = pos.narrow(-1, 0, 1).unsqueeze(-2) * f;  // [..., 1, 1] * [nh, d/4]
  auto theta_w = pos.narrow(-1, 1, 1).unsqueeze(-2) * f;
  return torch::cat({theta_h, theta_w}, -1);  // [..., nh, d/2]
}

FourierFeaturesImpl::FourierFeaturesImpl(int64_t in_features, int64_t out_features, double std) {
  check(out_features % 2 == 0, "Fourier features need an even width, got ", out_features);
  weight = register_buffer("weight", torch::randn({out_features / 2, in_features}) * std);
}

torch::Tensor FourierFeaturesImpl::forward(const torch::Tensor& x) {
  auto f = torch::matmul(2 * kPi * x, weight.t());  // published `2 * math.pi * input @ W.T`
  return torch::cat({f.cos(), f.sin()}, -1);
}

TokenMergeImpl::TokenMergeImpl(int64_t in_features, int64_t out_features, int64_t ph, int64_t pw)
    : ph(ph), pw(pw) {
  proj = register_module("proj", linear(in_features * ph * pw, out_features));
}

torch::Tensor TokenMergeImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), e = x.size(3);
  check(x.dim() == 4 && H % ph == 0 && W % pw == 0, "token merge expects [B, H, W, e] with H, W ",
        "multiples of ", ph, "x", pw, ", got ", x.sizes());
  // '(h nh) (w nw) e -> h w (nh nw e)': [B, h, nh, w, nw, e] -> [B, h, w, nh, nw, e]
  auto patches = x.reshape({B, H / ph, ph, W / pw, pw, e}).permute({0, 1, 3, 2, 4, 5});
  return proj(patches.reshape({B, H / ph, W / pw, ph * pw * e}));
}

TokenSplitImpl::TokenSplitImpl(int64_t in_features, int64_t out_features, bool with_skip,
                               int64_t ph, int64_t pw)
    : ph(ph), pw(pw) {
  proj = register_module("proj", linear(in_features, out_features * ph * pw));
  if (with_skip) fac = register_parameter("fac", torch::full({1}, 0.5));
}

torch::Tensor TokenSplitImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  const int64_t B = x.size(0), h = x.size(1), w = x.size(2);
  // 'h w (nh nw e) -> (h nh) (w nw) e': [B, h, w, nh, nw, e] -> [B, h, nh, w, nw, e]
  auto y = proj(x).reshape({B, h, w, ph, pw, -1}).permute({0, 1, 3, 2, 4, 5});
  y = y.reshape({B, h * ph, w * pw, y.size(-1)});
  if (!fac.defined()) return y;
  check(skip.defined() && skip.sizes() == y.sizes(), "token split expects a skip of shape ",
        y.sizes());
  return torch::lerp(skip, y, fac.to(y.scalar_type()));
}

MappingFeedForwardBlockImpl::MappingFeedForwardBlockImpl(int64_t d_model, int64_t d_ff,
                                                         double dropout)
    : dropout(dropout) {
  norm = register_module("norm", RMSNorm(d_model));
  up_proj = register_module("up_proj", linear(d_model, 2 * d_ff));  // LinearGEGLU
  down_proj = register_module("down_proj", zero_linear(d_ff, d_model));
}

torch::Tensor MappingFeedForwardBlockImpl::forward(const torch::Tensor& x) {
  auto h = torch::dropout(geglu(up_proj(norm(x))), dropout, is_training());
  return down_proj(h) + x;
}

MappingNetworkImpl::MappingNetworkImpl(int64_t n_layers, int64_t d_model, int64_t d_ff,
                                       double dropout) {
  in_norm = register_module("in_norm", RMSNorm(d_model));
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < n_layers; ++i) {
    blocks->push_back(MappingFeedForwardBlock(d_model, d_ff, dropout));
  }
  out_norm = register_module("out_norm", RMSNorm(d_model));
}

torch::Tensor MappingNetworkImpl::forward(const torch::Tensor& x) {
  auto h = in_norm(x);
  for (const auto& block : *blocks) h = block->as<MappingFeedForwardBlock>()->forward(h);
  return out_norm(h);
}

}  // namespace elit::models::hdit
