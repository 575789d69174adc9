// The part of a forward that a step cache may skip (TeaCache, sampling/teacache.h), as a model
// offers it. The model knows where its cacheable span is and what signals a change; the cache
// (the policy) decides, per group of rows, whether the span runs or its last residual is reused.
//
// Spans of a model with a latent interface (ELIT):
//   * core:      the blocks on the kept latents (Read and Write always run);
//   * interface: Read -> core -> Write on the spatial tokens (Read still runs for the signal).
// A model without a latent interface caches all of its blocks under either name.
#pragma once
#include <torch/types.h>

#include <functional>
#include <string>

namespace elit::models {

enum class CachedSpan { core, interface };
CachedSpan parse_cached_span(const std::string& name);  // "core" | "interface"
std::string cached_span_name(CachedSpan span);

class SpanCache {
 public:
  virtual ~SpanCache() = default;
  // Runs the span for rows [begin, begin + count) of the forward, given those rows of its input.
  using Compute =
      std::function<torch::Tensor(int64_t begin, int64_t count, const torch::Tensor& input_rows)>;
  // The span the model should hand to run().
  virtual CachedSpan span() const = 0;
  // signal: [B, ...] the first cached block's adaLN-modulated input (the change indicator),
  // input: [B, ...] the span's input -> the span's output [B, ...], computed or from the cache.
  virtual torch::Tensor run(const torch::Tensor& signal, const torch::Tensor& input,
                            const Compute& compute) = 0;
};

}  // namespace elit::models
