// Precomputed text-encoder features (CLIP/T5 computed elsewhere) for text-conditioned models
// whose text encoder is not on this machine. A safetensors file in one of two layouts:
//   * batched: "context" (N, L, C) [+ "context_mask" (N, L), bool or integer, non-zero = real
//     token] [+ "pooled" (N, P)]
//   * per sample: "context.<i>" (L_i, C) [+ "pooled.<i>" (P)] for i = 0..N-1; the samples are
//     padded to the longest L_i with zeros and the mask marks the real tokens.
// The result is a models::Condition with context, context_mask and (when present) pooled.
#pragma once
#include <string>

#include "elit/io/safetensors.h"
#include "elit/models/diffusion_model.h"

namespace elit::io {

// Throws elit::Error naming the file and the offending entry (missing "context", mixed layouts,
// gaps in the sample indices, differing widths, a mask of the wrong shape).
models::Condition read_context_file(const std::string& path);
models::Condition context_from_tensors(const TensorMap& tensors, const std::string& origin);

// Writes a condition's context (+ mask, pooled) in the batched layout.
void write_context_file(const std::string& path, const models::Condition& condition);

}  // namespace elit::io
