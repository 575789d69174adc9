#include "elit/metrics/flops.h"

#include "elit/models/budget.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

// One SiT block on n tokens of width D, per sample: adaLN (6D), qkv (3D), attention scores and
// values (n*n*D each), output projection, MLP (two layers through int(D * mlp_ratio)).
int64_t sit_block_flops(int64_t n, int64_t D, double mlp_ratio) {
  const int64_t hidden = static_cast<int64_t>(static_cast<double>(D) * mlp_ratio);
  const int64_t adaln = 2 * D * 6 * D;
  const int64_t qkv = 2 * n * D * 3 * D;
  const int64_t attention = 2 * (2 * n * n * D);
  const int64_t proj = 2 * n * D * D;
  const int64_t mlp = 2 * (2 * n * D * hidden);
  return adaln + qkv + attention + proj + mlp;
}

// Grouped cross-attention + ratio-1 MLP over N tokens in G groups of T, per sample, without the
// query projection (counted by the caller): kv projection, scores, values, output projection.
int64_t grouped_cross_attention_flops(int64_t N, int64_t G, int64_t T, int64_t D) {
  const int64_t kv = 2 * N * D * 2 * D;
  const int64_t attention = 2 * (2 * G * T * T * D);
  const int64_t proj = 2 * N * D * D;
  const int64_t mlp = 2 * (2 * N * D * D);
  return kv + attention + proj + mlp;
}

}  // namespace

int64_t FlopsBreakdown::total() const {
  int64_t sum = 0;
  for (const auto& c : components) sum += c.second;
  return sum;
}

int64_t FlopsBreakdown::get(const std::string& name) const {
  for (const auto& c : components) {
    if (c.first == name) return c.second;
  }
  return 0;
}

nlohmann::json FlopsBreakdown::to_json() const {
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& c : components) parts[c.first] = c.second;
  return {{"flops", total()}, {"components", parts}};
}

FlopsBreakdown sit_forward_flops(const models::SiTConfig& c, const ForwardFlopsOptions& o) {
  c.validate();
  check(o.batch >= 1, "invalid batch ", o.batch, " for a FLOPs count: must be at least 1");
  const int64_t B = o.batch, D = c.hidden_size, N = c.num_tokens(), p = c.patch_size;
  const int64_t block = sit_block_flops(N, D, c.mlp_ratio);
  FlopsBreakdown f;
  // Patch embedding: a p x p convolution from C channels is a linear map of C*p*p per token;
  // timestep MLP: 256-d frequencies -> D -> D (published TimestepEmbedder).
  const int64_t embed = 2 * N * D * c.in_channels * p * p + 2 * 256 * D + 2 * D * D;
  f.components.emplace_back("embedders", B * embed);
  if (!c.enable_elit) {
    check(o.budget == 1.0, "model '", c.model, "' has no latent interface; only budget 1 is valid");
    f.components.emplace_back("spatial_blocks", B * c.depth * block);
  } else {
    const int64_t T = c.tokens_per_group(), G = N / T;
    const int64_t keep = models::keep_from_budget(o.budget, T, N);
    const int64_t spatial = c.encoder_depth + c.dit_decoder_depth;
    f.components.emplace_back("spatial_blocks", B * spatial * block);
    const int64_t read_queries = o.convention == FlopsConvention::published
                                     ? B * 2 * N * D * D  // every group of every sample
                                     : 2 * T * D * D;     // once per forward
    const int64_t read_adaln = 2 * D * 7 * D;
    f.components.emplace_back(
        "read", read_queries + B * (read_adaln + grouped_cross_attention_flops(N, G, T, D)));
    f.components.emplace_back("core",
                              B * c.core_depth() * sit_block_flops(G * keep, D, c.mlp_ratio));
    // Write: every spatial token queries all T latents of its group (dropped ones included).
    const int64_t write = 2 * N * D * D + grouped_cross_attention_flops(N, G, T, D);
    f.components.emplace_back("write", B * c.elit_write_depth * write);
  }
  // Final layer: adaLN (2D) and the projection to p*p*C values per token.
  f.components.emplace_back("final_layer", B * (2 * D * 2 * D + 2 * N * D * p * p * c.in_channels));
  return f;
}

bool has_analytic_flops(const nlohmann::json& config) {
  return models::model_family(config) == "sit";
}

FlopsBreakdown analytic_forward_flops(const nlohmann::json& config, const ForwardFlopsOptions& o) {
  const std::string family = models::model_family(config);
  check(family == "sit", "no analytic FLOPs count for model family '", family,
        "'; use the measured count (elit flops --measure)");
  return sit_forward_flops(models::sit_config_from_json(config), o);
}

models::SiTConfig published_sit_config(const std::string& name, int64_t resolution,
                                       const nlohmann::json& overrides) {
  auto c = models::named_sit_config(name);
  // Published generate.py / elit_*_inference.py defaults for the named models.
  c.encoder_depth = 8;
  c.group_size = 4;
  c = models::sit_config_from_json(overrides, c);
  check(resolution > 0, "invalid resolution ", resolution, ": must be positive");
  const bool latent_space = c.in_channels == 4;  // the SD VAE's 4 latent channels
  check(!latent_space || resolution % 8 == 0, "resolution ", resolution,
        " must be a multiple of 8 for a latent-space model (latent size R/8)");
  c.input_size = latent_space ? resolution / 8 : resolution;
  c.validate();
  return c;
}

}  // namespace elit::metrics
