// The tanh GELU kernels: in place for inference (optionally adding the bias of the linear that
// produced the values), and out of place with its backward for training (models/mlp.cpp).
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>

#include "elit/models/fused_kernels.h"
#include "elit/runtime/error.h"
#include "fused_simd.h"

namespace elit::models::fused {
namespace {

using namespace simd;  // NOLINT: the kernels below are written in its primitives

// x * sigmoid(z), z = 2 sqrt(2/pi) (x + 0.044715 x^3): the tanh GELU, since 0.5 (1 + tanh u) =
// sigmoid(2u).
ELIT_INLINE vf gelu_tanh(vf v) {
  constexpr float k = 1.5957691216057308f;  // 2 sqrt(2 / pi)
  constexpr float kc = k * 0.044715f;
  const vf z = v * (kc * v * v + k);
  return v / (exp_approx(-z) + 1.0f);
}

// The GELU's derivative times g: with z = x (k + kc x^2) and s = sigmoid(z), gelu = x s and
// gelu' = s + x s (1 - s) (k + 3 kc x^2).
ELIT_INLINE vf gelu_tanh_grad(vf v, vf g) {
  constexpr float k = 1.5957691216057308f;
  constexpr float kc = k * 0.044715f;
  const vf v2 = v * v;
  const vf s = 1.0f / (exp_approx(-(v * (kc * v2 + k))) + 1.0f);
  return g * (s + v * s * (1.0f - s) * (3.0f * kc * v2 + k));
}

// out = gelu(in) over n values (out may be in).
template <typename S>
ELIT_INLINE void gelu_span(const S* in, S* out, int64_t n) {
  const int64_t full = n / kW * kW;
  for (int64_t i = 0; i < full; i += kW) vstore(out + i, gelu_tanh(vload(in + i)));
  if (n > full) store_part(out + full, n - full, gelu_tanh(load_part(in + full, n - full, 0.0f)));
}

ELIT_VECTOR_CLONES void gelu_f32(const float* in, float* out, int64_t n) {
  gelu_span(in, out, n);
}
ELIT_VECTOR_CLONES void gelu_bf16(const bf16_bits* in, bf16_bits* out, int64_t n) {
  gelu_span(in, out, n);
}

// out = g * gelu'(x) over n values.
template <typename S>
ELIT_INLINE void gelu_grad_span(const S* x, const S* g, S* out, int64_t n) {
  const int64_t full = n / kW * kW, rest = n - full;
  for (int64_t i = 0; i < full; i += kW) {
    vstore(out + i, gelu_tanh_grad(vload(x + i), vload(g + i)));
  }
  if (rest) {
    store_part(out + full, rest,
               gelu_tanh_grad(load_part(x + full, rest, 0.0f), load_part(g + full, rest, 0.0f)));
  }
}

ELIT_VECTOR_CLONES void gelu_grad_f32(const float* x, const float* g, float* out, int64_t n) {
  gelu_grad_span(x, g, out, n);
}
ELIT_VECTOR_CLONES void gelu_grad_bf16(const bf16_bits* x, const bf16_bits* g, bf16_bits* out,
                                       int64_t n) {
  gelu_grad_span(x, g, out, n);
}

// gelu(x + bias) in place on rows [begin, end) of x [rows, n]; bias float32 [n].
template <typename S>
ELIT_INLINE void bias_gelu_rows(S* x, const float* bias, int64_t begin, int64_t end, int64_t n) {
  const int64_t full = n / kW * kW, rest = n - full;
  for (int64_t r = begin; r < end; ++r) {
    S* row = x + r * n;
    for (int64_t i = 0; i < full; i += kW) {
      vstore(row + i, gelu_tanh(vload(row + i) + vload(bias + i)));
    }
    if (rest) {
      store_part(row + full, rest,
                 gelu_tanh(load_part(row + full, rest, 0.0f) + load_part(bias + full, rest, 0.0f)));
    }
  }
}

ELIT_VECTOR_CLONES void bias_gelu_f32(float* x, const float* bias, int64_t begin, int64_t end,
                                      int64_t n) {
  bias_gelu_rows(x, bias, begin, end, n);
}
ELIT_VECTOR_CLONES void bias_gelu_bf16(bf16_bits* x, const float* bias, int64_t begin, int64_t end,
                                       int64_t n) {
  bias_gelu_rows(x, bias, begin, end, n);
}

// out = gelu(in) for contiguous tensors of one size and dtype (out may be in).
void gelu_into(const torch::Tensor& in, const torch::Tensor& out) {
  at::parallel_for(0, in.numel(), 16384, [&](int64_t begin, int64_t end) {
    if (in.scalar_type() == torch::kFloat32) {
      gelu_f32(data<float>(in) + begin, data<float>(out) + begin, end - begin);
    } else {
      gelu_bf16(data<bf16_bits>(in) + begin, data<bf16_bits>(out) + begin, end - begin);
    }
  });
}

}  // namespace

void gelu_tanh_(torch::Tensor& x, const torch::Tensor& bias) {
  check(applies({x}) && x.is_contiguous(), "fused gelu_tanh_: unsupported x ", x.sizes(), " ",
        x.scalar_type());
  RECORD_FUNCTION("elit::fused_gelu_tanh_", std::vector<c10::IValue>({x}));
  const bool single = x.scalar_type() == torch::kFloat32;
  if (bias.defined()) {
    const int64_t n = x.dim() > 0 ? x.size(-1) : 1;
    check(bias.dim() == 1 && bias.size(0) == n, "fused gelu_tanh_: bias ", bias.sizes(),
          " does not match the last dim of x ", x.sizes());
    const auto b = bias.to(torch::kFloat32).contiguous();
    const float* bp = b.data_ptr<float>();
    at::parallel_for(0, x.numel() / std::max<int64_t>(n, 1), row_grain(n),
                     [&](int64_t begin, int64_t end) {
                       if (single) {
                         bias_gelu_f32(data<float>(x), bp, begin, end, n);
                       } else {
                         bias_gelu_bf16(data<bf16_bits>(x), bp, begin, end, n);
                       }
                     });
    return;
  }
  gelu_into(x, x);
}

torch::Tensor gelu_tanh(const torch::Tensor& x) {
  check(applies({x.detach()}), "fused gelu_tanh: unsupported x ", x.sizes(), " ", x.scalar_type());
  RECORD_FUNCTION("elit::fused_gelu_tanh", std::vector<c10::IValue>({x}));
  const auto in = x.detach().contiguous();
  auto out = torch::empty_like(in);
  gelu_into(in, out);
  return out;
}

torch::Tensor gelu_tanh_backward(const torch::Tensor& grad, const torch::Tensor& x) {
  check(applies({grad.detach(), x.detach()}) && grad.sizes() == x.sizes() &&
            grad.scalar_type() == x.scalar_type(),
        "fused gelu_tanh_backward: unsupported grad ", grad.sizes(), " ", grad.scalar_type(),
        " for x ", x.sizes(), " ", x.scalar_type());
  RECORD_FUNCTION("elit::fused_gelu_tanh_backward", std::vector<c10::IValue>({grad, x}));
  const auto xc = x.detach().contiguous(), gc = grad.detach().contiguous();
  auto out = torch::empty_like(xc);
  at::parallel_for(0, xc.numel(), 16384, [&](int64_t begin, int64_t end) {
    if (xc.scalar_type() == torch::kFloat32) {
      gelu_grad_f32(data<float>(xc) + begin, data<float>(gc) + begin, data<float>(out) + begin,
                    end - begin);
    } else {
      gelu_grad_bf16(data<bf16_bits>(xc) + begin, data<bf16_bits>(gc) + begin,
                     data<bf16_bits>(out) + begin, end - begin);
    }
  });
  return out;
}

}  // namespace elit::models::fused
