// Inference attention core on the CPU that reads q, k and v where they are. The heads of a fused
// qkv projection ([B, N, 3, H, d] seen as [B, H, N, d]), of split projections, or learned
// queries broadcast over the batch go to the BLAS with their row strides instead of being
// copied into contiguous matrices; the softmax scale is the first product's alpha instead of a
// scaled key copy; and the output rows of all heads are written side by side ([..., N, H, d] in
// memory), so that merging the heads for the output projection is a view. The copying path made
// five attention-sized copies per layer (~10% of an ELIT-SiT-S/2 forward in a profile).
#pragma once
#include <torch/types.h>

namespace elit::models {

// CPU float/double operands with the BLAS found, nothing that needs autograd, no autocast,
// contiguous last dims, and leading dims that broadcast. bfloat16 operands too (converted to
// float32 per matrix) when their score matrices are smaller than kLargeBf16Scores elements:
// larger ones are faster in oneDNN's bfloat16 bmm.
constexpr int64_t kLargeBf16Scores = 128 * 128;
bool strided_attention_applies(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v);

// softmax(q k^T / sqrt(d)) v: q [..., Nq, d], k [..., Nk, d], v [..., Nk, dv] -> [..., Nq, dv]
// (leading dims broadcast). The result is a view whose memory is laid out [..., Nq, H, dv],
// H being the last leading dim.
torch::Tensor strided_attention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v);

}  // namespace elit::models
