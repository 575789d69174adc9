// Vector primitives of the one-pass CPU kernels (fused_kernels.cpp, fused_gelu.cpp): 16 float32
// lanes in GCC's
// generic vectors, loads and stores of float32 and bfloat16 (as its 16 storage bits), partial
// chunks at the end of a row, lane reductions and a vector exp. Private to src/models.
#pragma once
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Kernels marked ELIT_VECTOR_CLONES are built, on x86-64 GCC, as an AVX-512, an AVX2+FMA and a
// baseline version, and the CPU picks one at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ELIT_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ELIT_VECTOR_CLONES
#endif
#define ELIT_INLINE inline __attribute__((always_inline))

// The generic vectors are only passed between always-inlined functions: no ABI concern.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace elit::models::fused::simd {

using bf16_bits = uint16_t;  // bfloat16 storage: the high half of a float32

// 16 floats at a time in GCC's generic vectors: one AVX-512 register, two AVX2 ones, or four
// SSE ones, whichever the clone was built for.
constexpr int64_t kW = 16;
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64)));
typedef uint16_t vh __attribute__((vector_size(32)));

ELIT_INLINE vf splat(float v) {
  return vf{} + v;
}
ELIT_INLINE vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
ELIT_INLINE vf vload(const bf16_bits* p) {
  vh h;
  std::memcpy(&h, p, sizeof h);
  return reinterpret_cast<vf>(__builtin_convertvector(h, vu) << 16);
}
ELIT_INLINE void vstore(float* p, vf v) {
  std::memcpy(p, &v, sizeof v);
}
// Round to nearest even, as c10::BFloat16 does; NaN stays a (quiet) NaN.
ELIT_INLINE void vstore(bf16_bits* p, vf v) {
  const vu bits = reinterpret_cast<vu>(v);
  const vu rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  const vu out = v != v ? vu{} + 0x7FC0u : rounded;
  const vh h = __builtin_convertvector(out, vh);
  std::memcpy(p, &h, sizeof h);
}

// The last, partial chunk of a row: through a padded copy.
ELIT_INLINE float load1(const float* p) {
  return *p;
}
ELIT_INLINE float load1(const bf16_bits* p) {
  const uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
template <typename S>
ELIT_INLINE vf load_part(const S* p, int64_t count, float pad) {
  float tmp[kW];
  for (int64_t i = 0; i < kW; ++i) tmp[i] = i < count ? load1(p + i) : pad;
  return vload(tmp);
}
template <typename S>
ELIT_INLINE void store_part(S* p, int64_t count, vf v) {
  S tmp[kW];
  vstore(tmp, v);
  for (int64_t i = 0; i < count; ++i) p[i] = tmp[i];
}

ELIT_INLINE float lane_sum(vf v) {
  float s = 0.0f;
  for (int64_t i = 0; i < kW; ++i) s += v[i];
  return s;
}
ELIT_INLINE float lane_max(vf v) {
  float m = v[0];
  for (int64_t i = 1; i < kW; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// exp(x) for x <= 88, 0 below -87 (Cephes' expf: x = n ln2 + f, |f| <= ln2/2, a polynomial in
// f, then n added to the exponent bits); relative error ~1e-7.
ELIT_INLINE vf exp_approx(vf x) {
  const vi underflow = x < -87.0f;  // also -inf: zero, as expf gives
  x = x < -87.0f ? splat(-87.0f) : x;
  x = x > 88.0f ? splat(88.0f) : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const vf shifted = x * 1.44269504088896341f + kRound;
  const vf n = shifted - kRound;
  const vi n_int = reinterpret_cast<vi>(shifted) - 0x4B400000;  // kRound's bits: n remains
  const vf f = x - n * 0.693359375f + n * 2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  const vf y = p * f * f + f + 1.0f;
  const vu scaled = reinterpret_cast<vu>(y) + (reinterpret_cast<vu>(n_int) << 23);
  return underflow ? vf{} : reinterpret_cast<vf>(scaled);
}

// A tensor's data as the kernels' storage type: float, or bfloat16's 16 bits.
template <typename S>
inline S* data(const torch::Tensor& t) {
  if constexpr (std::is_same_v<S, float>) {
    return t.data_ptr<float>();
  } else {
    return reinterpret_cast<S*>(t.data_ptr<at::BFloat16>());
  }
}

// Rows per parallel task: enough work per task for ~16k values.
inline int64_t row_grain(int64_t D) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1));
}

}  // namespace elit::models::fused::simd
