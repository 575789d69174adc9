#include "elit/models/strided_attention.h"

#include <ATen/ExpandUtils.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cpu_blas.h"
#include "elit/models/fused_kernels.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

std::vector<int64_t> lead_sizes(const torch::Tensor& t) {
  return t.sizes().slice(0, t.dim() - 2).vec();
}

// Element offsets of every matrix of a [lead..., rows, cols] view, in row-major lead order.
std::vector<int64_t> matrix_offsets(const torch::Tensor& t) {
  const int64_t lead = t.dim() - 2;
  int64_t count = 1;
  for (int64_t i = 0; i < lead; ++i) count *= t.size(i);
  std::vector<int64_t> out(static_cast<size_t>(count));
  std::vector<int64_t> index(static_cast<size_t>(lead), 0);
  int64_t offset = 0;
  for (int64_t n = 0; n < count; ++n) {
    out[static_cast<size_t>(n)] = offset;
    for (int64_t i = lead - 1; i >= 0; --i) {  // odometer step
      offset += t.stride(i);
      if (++index[static_cast<size_t>(i)] < t.size(i)) break;
      offset -= t.stride(i) * t.size(i);
      index[static_cast<size_t>(i)] = 0;
    }
  }
  return out;
}

// The row stride a column-major BLAS accepts for a [rows, cols] row-major matrix: >= cols.
int row_stride(const torch::Tensor& t) {
  const int64_t cols = t.size(-1);
  return static_cast<int>(t.size(-2) == 1 ? std::max<int64_t>(cols, 1) : t.stride(-2));
}

bool blas_layout(const torch::Tensor& t) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (t.dim() < 2 || (t.size(-1) > 1 && t.stride(-1) != 1)) return false;
  if (t.size(-2) > 1 && t.stride(-2) < t.size(-1)) return false;
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (t.size(i) > kMax || t.stride(i) > kMax) return false;
  }
  return true;
}

// scores[i] = scale q[i] k[i]^T: row-major S = Q K^T is column-major S^T = K Q^T, with K read
// transposed in place.
template <typename T>
torch::Tensor scaled_scores(const torch::Tensor& q, const torch::Tensor& k) {
  const auto gemm = fast_gemm<T>;
  const auto oq = matrix_offsets(q), ok = matrix_offsets(k);
  const int64_t count = static_cast<int64_t>(oq.size());
  const int nq = static_cast<int>(q.size(-2)), d = static_cast<int>(q.size(-1)),
            nk = static_cast<int>(k.size(-2));
  const int ldq = row_stride(q), ldk = row_stride(k);
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(d))), zero = 0;
  const char no = 'N', yes = 'T';
  const T* Q = q.data_ptr<T>();
  const T* K = k.data_ptr<T>();
  auto scores = torch::empty({count, nq, nk}, q.options());
  T* S = scores.data_ptr<T>();
  const int64_t tile = static_cast<int64_t>(nq) * nk;
  for_each_matrix(count, [&](int64_t i) {
    gemm(&yes, &no, &nk, &nq, &d, &scale, K + ok[i], &ldk, Q + oq[i], &ldq, &zero, S + i * tile,
         &nk);
  });
  return scores;
}

// out[i] = probs[i] v[i]: row-major O = P V is column-major O^T = V^T P^T.
template <typename T>
void weighted_values(const torch::Tensor& probs, const torch::Tensor& v, torch::Tensor& out) {
  const auto gemm = fast_gemm<T>;
  const auto ov = matrix_offsets(v), oo = matrix_offsets(out);
  const int nq = static_cast<int>(probs.size(1)), nk = static_cast<int>(probs.size(2)),
            dv = static_cast<int>(v.size(-1));
  const int ldv = row_stride(v), ldo = row_stride(out);
  const T one = 1, zero = 0;
  const char no = 'N';
  const T* P = probs.data_ptr<T>();
  const T* V = v.data_ptr<T>();
  T* O = out.data_ptr<T>();
  const int64_t tile = static_cast<int64_t>(nq) * nk;
  for_each_matrix(probs.size(0), [&](int64_t i) {
    gemm(&no, &no, &dv, &nq, &nk, &one, V + ov[i], &ldv, P + i * tile, &nk, &zero, O + oo[i], &ldo);
  });
}

// A thread's float32 copy of one bfloat16 matrix (rows at stride ld), for the BLAS.
struct FloatCopy {
  std::vector<float> data;
  const float* from(const at::BFloat16* src, int64_t ld, int64_t rows, int64_t cols) {
    data.resize(static_cast<size_t>(rows * cols));
    fused::bf16_to_float(src, ld, data.data(), rows, cols);
    return data.data();
  }
};

// Scores, softmax and weighted values one matrix at a time: each score matrix is normalised and
// used while it is in the cache instead of round-tripping [batch, Nq, Nk] through memory.
// bfloat16 operands are converted per matrix into float32 copies (the BLAS has no bfloat16
// product) and the output rounded back as it is written, instead of casting whole tensors.
template <typename S>
void fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     torch::Tensor& out) {
  constexpr bool single = std::is_same_v<S, float>;
  const auto gemm = fast_gemm<float>;
  const auto oq = matrix_offsets(q), ok = matrix_offsets(k), ov = matrix_offsets(v),
             oo = matrix_offsets(out);
  const int nq = static_cast<int>(q.size(-2)), d = static_cast<int>(q.size(-1)),
            nk = static_cast<int>(k.size(-2)), dv = static_cast<int>(v.size(-1));
  const int ldq = row_stride(q), ldk = row_stride(k), ldv = row_stride(v), ldo = row_stride(out);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))), zero = 0,
              one = 1;
  const char no = 'N', yes = 'T';
  const S* Q = q.data_ptr<S>();
  const S* K = k.data_ptr<S>();
  const S* V = v.data_ptr<S>();
  S* O = out.data_ptr<S>();
  const int64_t tile = static_cast<int64_t>(nq) * nk;
  for_matrix_ranges(static_cast<int64_t>(oq.size()), [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(tile));  // this thread's score matrix
    float* Sc = scores.data();
    FloatCopy qc, kc, vc;
    std::vector<float> result(single ? 0 : static_cast<size_t>(nq) * dv);
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (single) {
        gemm(&yes, &no, &nk, &nq, &d, &scale, K + ok[i], &ldk, Q + oq[i], &ldq, &zero, Sc, &nk);
        fused::softmax_rows(Sc, nq, nk);
        gemm(&no, &no, &dv, &nq, &nk, &one, V + ov[i], &ldv, Sc, &nk, &zero, O + oo[i], &ldo);
      } else {
        const float* Qf = qc.from(Q + oq[i], ldq, nq, d);
        const float* Kf = kc.from(K + ok[i], ldk, nk, d);
        const float* Vf = vc.from(V + ov[i], ldv, nk, dv);
        gemm(&yes, &no, &nk, &nq, &d, &scale, Kf, &d, Qf, &d, &zero, Sc, &nk);
        fused::softmax_rows(Sc, nq, nk);
        gemm(&no, &no, &dv, &nq, &nk, &one, Vf, &dv, Sc, &nk, &zero, result.data(), &dv);
        fused::float_to_bf16(result.data(), O + oo[i], ldo, nq, dv);
      }
    }
  });
}

}  // namespace

bool strided_attention_applies(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) {
  const auto type = q.scalar_type();
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (needs_grad || ELIT_CPU_AUTOCAST_ENABLED() || !q.device().is_cpu() || !k.device().is_cpu() ||
      !v.device().is_cpu() || k.scalar_type() != type || v.scalar_type() != type) {
    return false;
  }
  if (type == torch::kBFloat16) {
    // bfloat16 through float32 copies per matrix (fused_attention), for small score matrices
    // only: large ones run faster in oneDNN's bfloat16 bmm.
    if (!fused::applies({q, k, v}) || !has_blas(torch::kFloat32) ||
        q.size(-2) * k.size(-2) >= kLargeBf16Scores) {
      return false;
    }
  } else if (!has_blas(type)) {
    return false;
  }
  if (!blas_layout(q) || !blas_layout(k) || !blas_layout(v)) return false;
  if (q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2) || q.numel() == 0 || k.numel() == 0 ||
      v.numel() == 0) {
    return false;
  }
  // Leading dims must broadcast.
  try {
    at::infer_size(at::infer_size(lead_sizes(q), lead_sizes(k)), lead_sizes(v));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

torch::Tensor strided_attention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v) {
  check(strided_attention_applies(q, k, v), "strided_attention: unsupported operands ", q.sizes(),
        ", ", k.sizes(), ", ", v.sizes());
  const auto lead = at::infer_size(at::infer_size(lead_sizes(q), lead_sizes(k)), lead_sizes(v));
  auto expand = [&](const torch::Tensor& t) {
    auto sizes = lead;
    sizes.push_back(t.size(-2));
    sizes.push_back(t.size(-1));
    return t.expand(sizes);
  };
  const auto qe = expand(q), ke = expand(k), ve = expand(v);
  const int64_t nq = q.size(-2), dv = v.size(-1);
  torch::Tensor out;
  if (lead.empty()) {
    out = torch::empty({nq, dv}, q.options());
  } else {
    // Memory [lead[:-1]..., Nq, H, dv], seen as [lead..., Nq, dv].
    auto memory = std::vector<int64_t>(lead.begin(), lead.end() - 1);
    memory.push_back(nq);
    memory.push_back(lead.back());
    memory.push_back(dv);
    out = torch::empty(memory, q.options()).transpose(-3, -2);
  }
  const bool single = q.scalar_type() == torch::kFloat32;
  const bool bf16 = q.scalar_type() == torch::kBFloat16;
  auto probs_sizes = lead;
  probs_sizes.push_back(nq);
  probs_sizes.push_back(k.size(-2));
  if ((single || bf16) && fused::applies({q, k, v})) {
    // FLOP counters see the two products (shapes only: the scores never exist as one tensor).
    { RECORD_FUNCTION("aten::matmul", std::vector<c10::IValue>({q, k.transpose(-2, -1)})); }
    {
      RECORD_FUNCTION("aten::matmul",
                      std::vector<c10::IValue>(
                          {torch::empty(probs_sizes, q.options().device(torch::kMeta)), ve}));
    }
    RECORD_FUNCTION("elit::fused_attention", std::vector<c10::IValue>({q, k, v}));
    if (bf16) {
      fused_attention<at::BFloat16>(qe, ke, ve, out);
    } else {
      fused_attention<float>(qe, ke, ve, out);
    }
    return out;
  }
  torch::Tensor probs;
  {
    // Profilers and FLOP counters see the two products this replaces.
    RECORD_FUNCTION("aten::matmul", std::vector<c10::IValue>({q, k.transpose(-2, -1)}));
    probs = (single ? scaled_scores<float>(qe, ke) : scaled_scores<double>(qe, ke)).softmax(-1);
  }
  {
    RECORD_FUNCTION("aten::matmul", std::vector<c10::IValue>({probs.view(probs_sizes), ve}));
    if (single) {
      weighted_values<float>(probs, ve, out);
    } else {
      weighted_values<double>(probs, ve, out);
    }
  }
  return out;
}

}  // namespace elit::models
