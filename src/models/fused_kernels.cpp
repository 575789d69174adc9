#include "elit/models/fused_kernels.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cpu_blas.h"  // ELIT_CPU_AUTOCAST_ENABLED
#include "elit/runtime/error.h"
#include "fused_simd.h"

namespace elit::models::fused {
namespace {

using namespace simd;  // NOLINT: the kernels below are written in its primitives

// Rows [begin, end) of x [rows, D], `tokens` rows per sample; shift and gain (= 1 + scale) are
// float32 [samples, D].
template <typename S>
ELIT_INLINE void norm_modulate_rows(const S* x, S* out, const float* shift, const float* gain,
                                    int64_t begin, int64_t end, int64_t tokens, int64_t D,
                                    float eps) {
  const int64_t full = D / kW * kW, rest = D - full;
  for (int64_t r = begin; r < end; ++r) {
    const S* in = x + r * D;
    S* o = out + r * D;
    const float* sh = shift + (r / tokens) * D;
    const float* g = gain + (r / tokens) * D;
    vf acc{};
    for (int64_t i = 0; i < full; i += kW) acc += vload(in + i);
    if (rest) acc += load_part(in + full, rest, 0.0f);
    const float mean = lane_sum(acc) / static_cast<float>(D);
    acc = vf{};
    for (int64_t i = 0; i < full; i += kW) {
      const vf d = vload(in + i) - mean;
      acc += d * d;
    }
    if (rest) {
      const vf d = load_part(in + full, rest, mean) - mean;
      acc += d * d;
    }
    const float rstd = 1.0f / std::sqrt(lane_sum(acc) / static_cast<float>(D) + eps);
    for (int64_t i = 0; i < full; i += kW) {
      vstore(o + i, (vload(in + i) - mean) * rstd * vload(g + i) + vload(sh + i));
    }
    if (rest) {
      store_part(
          o + full, rest,
          (load_part(in + full, rest, 0.0f) - mean) * rstd * load_part(g + full, rest, 0.0f) +
              load_part(sh + full, rest, 0.0f));
    }
  }
}

ELIT_VECTOR_CLONES void norm_modulate_f32(const float* x, float* out, const float* shift,
                                          const float* gain, int64_t begin, int64_t end,
                                          int64_t tokens, int64_t D, float eps) {
  norm_modulate_rows(x, out, shift, gain, begin, end, tokens, D, eps);
}
ELIT_VECTOR_CLONES void norm_modulate_bf16(const bf16_bits* x, bf16_bits* out, const float* shift,
                                           const float* gain, int64_t begin, int64_t end,
                                           int64_t tokens, int64_t D, float eps) {
  norm_modulate_rows(x, out, shift, gain, begin, end, tokens, D, eps);
}

// RMSNorm of rows [begin, end) of x (row stride ld) into out [rows, D]: scale * x / (rms + eps)
// with rms = |x| / sqrt(D), as the published RMSNorm computes it (in float32).
template <typename S>
ELIT_INLINE void rms_norm_rows(const S* x, int64_t ld, const float* scale, S* out, int64_t begin,
                               int64_t end, int64_t D, float eps) {
  const int64_t full = D / kW * kW, rest = D - full;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t r = begin; r < end; ++r) {
    const S* in = x + r * ld;
    S* o = out + r * D;
    vf acc{};
    for (int64_t i = 0; i < full; i += kW) {
      const vf v = vload(in + i);
      acc += v * v;
    }
    if (rest) {
      const vf v = load_part(in + full, rest, 0.0f);
      acc += v * v;
    }
    const float denom = std::sqrt(lane_sum(acc)) * inv_sqrt_d + eps;
    for (int64_t i = 0; i < full; i += kW) vstore(o + i, vload(in + i) / denom * vload(scale + i));
    if (rest) {
      store_part(o + full, rest,
                 load_part(in + full, rest, 0.0f) / denom * load_part(scale + full, rest, 0.0f));
    }
  }
}

ELIT_VECTOR_CLONES void rms_norm_f32(const float* x, int64_t ld, const float* scale, float* out,
                                     int64_t begin, int64_t end, int64_t D, float eps) {
  rms_norm_rows(x, ld, scale, out, begin, end, D, eps);
}
ELIT_VECTOR_CLONES void rms_norm_bf16(const bf16_bits* x, int64_t ld, const float* scale,
                                      bf16_bits* out, int64_t begin, int64_t end, int64_t D,
                                      float eps) {
  rms_norm_rows(x, ld, scale, out, begin, end, D, eps);
}

// A [rows, cols] matrix between bfloat16 (row stride ld) and a contiguous float32 copy.
template <typename From, typename To>
ELIT_INLINE void convert_rows(const From* src, int64_t src_ld, To* dst, int64_t dst_ld,
                              int64_t rows, int64_t cols) {
  const int64_t full = cols / kW * kW, rest = cols - full;
  for (int64_t r = 0; r < rows; ++r) {
    const From* in = src + r * src_ld;
    To* o = dst + r * dst_ld;
    for (int64_t i = 0; i < full; i += kW) vstore(o + i, vload(in + i));
    if (rest) store_part(o + full, rest, load_part(in + full, rest, 0.0f));
  }
}

ELIT_VECTOR_CLONES void bf16_to_f32(const bf16_bits* src, int64_t ld, float* dst, int64_t rows,
                                    int64_t cols) {
  convert_rows(src, ld, dst, cols, rows, cols);
}
ELIT_VECTOR_CLONES void f32_to_bf16(const float* src, bf16_bits* dst, int64_t ld, int64_t rows,
                                    int64_t cols) {
  convert_rows(src, cols, dst, ld, rows, cols);
}

template <typename S>
ELIT_INLINE void gated_rows(const S* x, const S* y, const float* gate, S* out, int64_t begin,
                            int64_t end, int64_t tokens, int64_t D) {
  const int64_t full = D / kW * kW, rest = D - full;
  for (int64_t r = begin; r < end; ++r) {
    const float* g = gate + (r / tokens) * D;
    const S* xr = x + r * D;
    const S* yr = y + r * D;
    S* o = out + r * D;
    for (int64_t i = 0; i < full; i += kW) {
      vstore(o + i, vload(xr + i) + vload(g + i) * vload(yr + i));
    }
    if (rest) {
      store_part(o + full, rest,
                 load_part(xr + full, rest, 0.0f) +
                     load_part(g + full, rest, 0.0f) * load_part(yr + full, rest, 0.0f));
    }
  }
}

ELIT_VECTOR_CLONES void gated_f32(const float* x, const float* y, const float* gate, float* out,
                                  int64_t begin, int64_t end, int64_t tokens, int64_t D) {
  gated_rows(x, y, gate, out, begin, end, tokens, D);
}
ELIT_VECTOR_CLONES void gated_bf16(const bf16_bits* x, const bf16_bits* y, const float* gate,
                                   bf16_bits* out, int64_t begin, int64_t end, int64_t tokens,
                                   int64_t D) {
  gated_rows(x, y, gate, out, begin, end, tokens, D);
}

// Softmax of rows [begin, end) of x [rows, n] in place: max, exp and sum, scale. Exponentials go
// through a float32 row buffer (n rounded up to whole chunks), so bfloat16 rounds once.
template <typename S>
ELIT_INLINE void softmax_rows(S* x, float* buffer, int64_t begin, int64_t end, int64_t n) {
  const int64_t full = n / kW * kW, rest = n - full;
  for (int64_t r = begin; r < end; ++r) {
    S* row = x + r * n;
    vf m = splat(-INFINITY);
    for (int64_t i = 0; i < full; i += kW) {
      const vf v = vload(row + i);
      m = v > m ? v : m;
    }
    if (rest) {
      const vf v = load_part(row + full, rest, -INFINITY);
      m = v > m ? v : m;
    }
    const float max = lane_max(m);
    vf acc{};
    for (int64_t i = 0; i < full; i += kW) {
      const vf e = exp_approx(vload(row + i) - max);
      vstore(buffer + i, e);
      acc += e;
    }
    if (rest) {
      const vf e = exp_approx(load_part(row + full, rest, -INFINITY) - max);
      vstore(buffer + full, e);
      acc += e;
    }
    const float inv = 1.0f / lane_sum(acc);
    for (int64_t i = 0; i < full; i += kW) vstore(row + i, vload(buffer + i) * inv);
    if (rest) store_part(row + full, rest, vload(buffer + full) * inv);
  }
}

ELIT_VECTOR_CLONES void softmax_f32(float* x, float* buffer, int64_t begin, int64_t end,
                                    int64_t n) {
  softmax_rows(x, buffer, begin, end, n);
}
ELIT_VECTOR_CLONES void softmax_bf16(bf16_bits* x, float* buffer, int64_t begin, int64_t end,
                                     int64_t n) {
  softmax_rows(x, buffer, begin, end, n);
}

// A row buffer for softmax_rows: n rounded up to whole chunks.
std::vector<float> row_buffer(int64_t n) {
  return std::vector<float>(static_cast<size_t>((n + kW - 1) / kW * kW));
}

// A per-sample [B, D] vector as contiguous float32, checked against x [B, ..., D].
torch::Tensor per_sample_floats(const torch::Tensor& v, const torch::Tensor& x, const char* what) {
  check(v.dim() == 2 && v.size(0) == x.size(0) && v.size(1) == x.size(-1), "fused ", what,
        ": expected [", x.size(0), ", ", x.size(-1), "] for x of shape ", x.sizes(), ", got ",
        v.sizes());
  return v.to(torch::kFloat32).contiguous();
}

// ELIT_FUSED_KERNELS=off: libtorch's expressions everywhere, for A/B benchmarks.
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{[] {
    const char* v = std::getenv("ELIT_FUSED_KERNELS");
    return !(v && (std::string(v) == "off" || std::string(v) == "0"));
  }()};
  return flag;
}

}  // namespace

void set_enabled(bool on) {
  enabled_flag() = on;
}

bool enabled() {
  return enabled_flag();
}

bool applies(std::initializer_list<torch::Tensor> tensors) {
  if (!enabled() || ELIT_CPU_AUTOCAST_ENABLED()) return false;
  const bool grad = torch::GradMode::is_enabled();
  for (const auto& t : tensors) {
    if (!t.defined() || !t.device().is_cpu()) return false;
    if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kBFloat16) return false;
    if (grad && t.requires_grad()) return false;
  }
  return true;
}

torch::Tensor layer_norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                                  const torch::Tensor& scale, double eps) {
  check(applies({x, shift, scale}) && x.dim() >= 2, "fused layer_norm_modulate: unsupported x ",
        x.sizes(), " ", x.scalar_type());
  RECORD_FUNCTION("elit::fused_layer_norm_modulate", std::vector<c10::IValue>({x}));
  const auto in = x.contiguous();
  const auto sh = per_sample_floats(shift, x, "layer_norm_modulate shift");
  const auto gain = per_sample_floats(scale, x, "layer_norm_modulate scale") + 1.0f;
  auto out = torch::empty_like(in);
  const int64_t D = x.size(-1), rows = in.numel() / std::max<int64_t>(D, 1);
  const int64_t tokens = rows / std::max<int64_t>(x.size(0), 1);
  const float e = static_cast<float>(eps);
  const float* shp = sh.data_ptr<float>();
  const float* gp = gain.data_ptr<float>();
  at::parallel_for(0, rows, row_grain(D), [&](int64_t begin, int64_t end) {
    if (in.scalar_type() == torch::kFloat32) {
      norm_modulate_f32(data<float>(in), data<float>(out), shp, gp, begin, end, tokens, D, e);
    } else {
      norm_modulate_bf16(data<bf16_bits>(in), data<bf16_bits>(out), shp, gp, begin, end, tokens, D,
                         e);
    }
  });
  return out;
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& scale, double eps) {
  check(applies({x, scale}) && x.dim() >= 1 && scale.dim() == 1 && scale.size(0) == x.size(-1),
        "fused rms_norm: unsupported x ", x.sizes(), " ", x.scalar_type(), " with scale ",
        scale.sizes());
  RECORD_FUNCTION("elit::fused_rms_norm", std::vector<c10::IValue>({x}));
  const int64_t D = x.size(-1);
  // Rows read in place when they sit at one stride (e.g. a chunk of a wider projection).
  bool one_stride = x.dim() >= 2 && x.stride(-1) == 1 && x.stride(-2) >= D;
  for (int64_t i = 0; one_stride && i + 2 < x.dim(); ++i) {
    one_stride = x.stride(i) == x.stride(i + 1) * x.size(i + 1);
  }
  const auto src = one_stride ? x : x.contiguous();
  const int64_t ld = one_stride ? x.stride(-2) : D;
  const auto sc = scale.to(torch::kFloat32).contiguous();
  auto out = torch::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  const int64_t rows = x.numel() / std::max<int64_t>(D, 1);
  const float* sp = sc.data_ptr<float>();
  const float e = static_cast<float>(eps);
  at::parallel_for(0, rows, row_grain(D), [&](int64_t begin, int64_t end) {
    if (x.scalar_type() == torch::kFloat32) {
      rms_norm_f32(data<float>(src), ld, sp, data<float>(out), begin, end, D, e);
    } else {
      rms_norm_bf16(data<bf16_bits>(src), ld, sp, data<bf16_bits>(out), begin, end, D, e);
    }
  });
  return out;
}

void bf16_to_float(const at::BFloat16* src, int64_t ld, float* dst, int64_t rows, int64_t cols) {
  bf16_to_f32(reinterpret_cast<const bf16_bits*>(src), ld, dst, rows, cols);
}

void float_to_bf16(const float* src, at::BFloat16* dst, int64_t ld, int64_t rows, int64_t cols) {
  f32_to_bf16(src, reinterpret_cast<bf16_bits*>(dst), ld, rows, cols);
}

void softmax_(torch::Tensor& x) {
  check(applies({x}) && x.dim() >= 1 && x.is_contiguous(), "fused softmax_: unsupported x ",
        x.sizes(), " ", x.scalar_type());
  RECORD_FUNCTION("elit::fused_softmax_", std::vector<c10::IValue>({x}));
  const int64_t n = x.size(-1), rows = x.numel() / std::max<int64_t>(n, 1);
  const bool single = x.scalar_type() == torch::kFloat32;
  at::parallel_for(0, rows, row_grain(n), [&](int64_t begin, int64_t end) {
    auto buffer = row_buffer(n);
    if (single) {
      softmax_f32(data<float>(x), buffer.data(), begin, end, n);
    } else {
      softmax_bf16(data<bf16_bits>(x), buffer.data(), begin, end, n);
    }
  });
}

void softmax_rows(float* x, int64_t rows, int64_t n) {
  auto buffer = row_buffer(n);
  softmax_f32(x, buffer.data(), 0, rows, n);
}

torch::Tensor gated_residual(const torch::Tensor& x, const torch::Tensor& gate,
                             const torch::Tensor& y) {
  check(applies({x, gate, y}) && x.dim() >= 2 && x.sizes() == y.sizes() &&
            x.scalar_type() == y.scalar_type(),
        "fused gated_residual: unsupported x ", x.sizes(), " ", x.scalar_type(), ", y ", y.sizes(),
        " ", y.scalar_type());
  RECORD_FUNCTION("elit::fused_gated_residual", std::vector<c10::IValue>({x, y}));
  const auto xc = x.contiguous(), yc = y.contiguous();
  const auto g = per_sample_floats(gate, x, "gated_residual gate");
  auto out = torch::empty_like(xc);
  const int64_t D = x.size(-1), rows = xc.numel() / std::max<int64_t>(D, 1);
  const int64_t tokens = rows / std::max<int64_t>(x.size(0), 1);
  const float* gp = g.data_ptr<float>();
  at::parallel_for(0, rows, row_grain(D), [&](int64_t begin, int64_t end) {
    if (xc.scalar_type() == torch::kFloat32) {
      gated_f32(data<float>(xc), data<float>(yc), gp, data<float>(out), begin, end, tokens, D);
    } else {
      gated_bf16(data<bf16_bits>(xc), data<bf16_bits>(yc), gp, data<bf16_bits>(out), begin, end,
                 tokens, D);
    }
  });
  return out;
}

}  // namespace elit::models::fused
