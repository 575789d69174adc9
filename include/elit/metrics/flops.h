// Analytic FLOPs of one forward, counted the way PyTorch's FlopCounterMode counts: 2*m*n*k for
// every matrix product (linear layers, convolutions, attention scores and attention-weighted
// values); elementwise work, norms, softmax and embedding lookups count 0.
//
// SiT / ELIT-SiT per component: embedders (patch convolution + timestep MLP), spatial blocks
// (the encoder_depth blocks before Read and the dit_decoder_depth blocks after Write; every
// block for a plain SiT), Read, core (the blocks on the kept latents), Write, final layer.
//
// Two counting conventions differ in one place only, Read's learned queries:
//   * published: the published Read repeats the learned queries for every group of every sample
//     and projects them all (B*G*T rows through q_proj); this is what the paper's numbers and the
//     published results.json count;
//   * this port: the queries are the same everywhere, so this implementation projects them once
//     per forward (T rows); this is what a counter over this library's forward measures.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "elit/models/sit_config.h"

namespace elit::metrics {

struct FlopsBreakdown {
  std::vector<std::pair<std::string, int64_t>> components;  // in forward order
  int64_t total() const;
  int64_t get(const std::string& name) const;  // 0 for a component that is not listed
  // {"flops": total, "components": {name: flops, ...}}
  nlohmann::json to_json() const;
};

enum class FlopsConvention { published, this_port };

struct ForwardFlopsOptions {
  int64_t batch = 1;    // rows through the model (2x the images for batched CFG)
  double budget = 1.0;  // fraction kept per group in (0, 1] or a latent count > 1 (ELIT only)
  FlopsConvention convention = FlopsConvention::published;
};

// SiT / ELIT-SiT. Throws elit::Error for an invalid config or budget.
FlopsBreakdown sit_forward_flops(const models::SiTConfig& config, const ForwardFlopsOptions& o);

// Any backbone with an analytic count (its configuration JSON, as models/registry.h reads it).
// Throws elit::Error naming the family when there is none; use the measured count instead.
FlopsBreakdown analytic_forward_flops(const nlohmann::json& config, const ForwardFlopsOptions& o);
bool has_analytic_flops(const nlohmann::json& config);

// The named published model at a resolution in pixels as the published scripts take it: a
// latent-space model (4 input channels, the SD VAE) runs at R/8, a pixel-space model at R.
// Published script defaults apply (encoder_depth 8, group_size 4: generate.py and the ELIT
// inference scripts); `overrides` (published constructor names) change them.
models::SiTConfig published_sit_config(const std::string& name, int64_t resolution,
                                       const nlohmann::json& overrides = nlohmann::json::object());

}  // namespace elit::metrics
