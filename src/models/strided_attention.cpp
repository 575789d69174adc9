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
  const auto gemm = blas_gemm<T>();
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
  const auto gemm = blas_gemm<T>();
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

// Scores, softmax and weighted values one matrix at a time, float32: each score matrix is
// normalised and used while it is in the cache instead of round-tripping [batch, Nq, Nk] through
// memory.
void fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     torch::Tensor& out) {
  const auto gemm = blas_gemm<float>();
  const auto oq = matrix_offsets(q), ok = matrix_offsets(k), ov = matrix_offsets(v),
             oo = matrix_offsets(out);
  const int nq = static_cast<int>(q.size(-2)), d = static_cast<int>(q.size(-1)),
            nk = static_cast<int>(k.size(-2)), dv = static_cast<int>(v.size(-1));
  const int ldq = row_stride(q), ldk = row_stride(k), ldv = row_stride(v), ldo = row_stride(out);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))), zero = 0,
              one = 1;
  const char no = 'N', yes = 'T';
  const float* Q = q.data_ptr<float>();
  const float* K = k.data_ptr<float>();
  const float* V = v.data_ptr<float>();
  float* O = out.data_ptr<float>();
  const int64_t tile = static_cast<int64_t>(nq) * nk;
  for_matrix_ranges(static_cast<int64_t>(oq.size()), [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(tile));  // this thread's score matrix
    float* S = scores.data();
    for (int64_t i = begin; i < end; ++i) {
      gemm(&yes, &no, &nk, &nq, &d, &scale, K + ok[i], &ldk, Q + oq[i], &ldq, &zero, S, &nk);
      fused::softmax_rows(S, nq, nk);
      gemm(&no, &no, &dv, &nq, &nk, &one, V + ov[i], &ldv, S, &nk, &zero, O + oo[i], &ldo);
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
      !v.device().is_cpu() || k.scalar_type() != type || v.scalar_type() != type ||
      !has_blas(type)) {
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
  auto probs_sizes = lead;
  probs_sizes.push_back(nq);
  probs_sizes.push_back(k.size(-2));
  if (single && fused::applies({q, k, v})) {
    // FLOP counters see the two products (shapes only: the scores never exist as one tensor).
    { RECORD_FUNCTION("aten::matmul", std::vector<c10::IValue>({q, k.transpose(-2, -1)})); }
    {
      RECORD_FUNCTION("aten::matmul",
                      std::vector<c10::IValue>(
                          {torch::empty(probs_sizes, q.options().device(torch::kMeta)), ve}));
    }
    RECORD_FUNCTION("elit::fused_attention", std::vector<c10::IValue>({q, k, v}));
    fused_attention(qe, ke, ve, out);
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
