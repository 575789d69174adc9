// The interface every backbone implements (SiT, U-ViT, HDiT, MM-DiT, with or without the latent
// interface), so that training, sampling, FLOPs and benchmarks work the same for all of them.
//
// Time is the rectified-flow time t in [0, 1] (t = 1 is pure noise, as in the published loss and
// samplers); a backbone that was published with another time or noise-level input maps t itself.
#pragma once
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "elit/models/span_cache.h"

namespace elit::models {

// What a model is conditioned on. Class-conditional models read `labels`; text-conditioned models
// read `context` (+ `context_mask`, `pooled`).
struct Condition {
  torch::Tensor labels;        // [B] int64; the null class (= num_classes) for unconditional
  torch::Tensor context;       // [B, L, C] text-encoder tokens
  torch::Tensor context_mask;  // [B, L] bool, true where a real (non-padding) token is
  torch::Tensor pooled;        // [B, P] pooled text vector
  torch::Tensor tokens;        // [B, L] int64 token ids, for a model with a built-in text encoder

  int64_t batch() const;
  // The same rows of every defined field: samples [begin, begin+length).
  Condition narrow(int64_t begin, int64_t length) const;
  // Rows of every defined field taken by an index tensor.
  Condition index_select(const torch::Tensor& index) const;
  Condition to(torch::Device device) const;
  static Condition cat(const Condition& a, const Condition& b);
  static Condition from_labels(torch::Tensor labels);
};

// Shapes and budget facts that tools need without knowing the backbone.
struct ModelSpec {
  std::string name;                                // "ELIT-SiT-S/2", or the config's name
  std::string family;                              // "sit", "uvit", "hdit", "mmdit"
  int64_t in_channels = 0, height = 0, width = 0;  // input [B, C, H, W]
  int64_t num_classes = 0;                         // class-conditional: labels in [0, n]; n = null
  bool text_conditioned = false;
  bool elit = false;             // has a latent interface
  int64_t tokens_per_group = 1;  // T = g*g latents per group (1 without ELIT)
  int64_t latent_tokens = 0;     // N latents over the image (spatial tokens without ELIT)
  // The training drop range (published elit_min/max_mask_prob); see training_budgets().
  std::optional<double> elit_min_mask_prob, elit_max_mask_prob;
};

// The latent-interface facts of a spec, from a config that spells them as every backbone here
// does (enable_elit, tokens_per_group(), elit_min/max_mask_prob).
template <class Config>
void describe_latent_interface(ModelSpec& s, const Config& c, int64_t latent_tokens) {
  s.elit = c.enable_elit;
  s.tokens_per_group = c.enable_elit ? c.tokens_per_group() : 1;
  s.latent_tokens = latent_tokens;
  s.elit_min_mask_prob = c.elit_min_mask_prob;
  s.elit_max_mask_prob = c.elit_max_mask_prob;
}

// The budgets training draws from (models/budget.h); empty without a latent interface.
std::vector<double> training_budgets(const ModelSpec& s);

class DiffusionModel : public torch::nn::Module {
 public:
  // x: [B, C, H, W], t: [B] -> velocity [B, C, H, W].
  // budget: fraction of latents kept per group in (0, 1] or an absolute count > 1; unset means
  // the full budget in eval mode and a level drawn from the training levels in training mode.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                                const Condition& condition,
                                std::optional<double> budget = std::nullopt) = 0;
  // The same forward with a step cache deciding whether the model's cacheable span runs
  // (TeaCache: models/span_cache.h). Throws elit::Error for a family without a cacheable span.
  virtual torch::Tensor forward_cached(const torch::Tensor& x, const torch::Tensor& t,
                                       const Condition& condition, std::optional<double> budget,
                                       SpanCache& cache);
  // Two forwards of the same x and t under two conditions and budgets (cheap CFG's conditional
  // and low-budget unconditional branch), each with its own step cache when given. A model may
  // share work between them; by default they are two forward() (forward_cached()) calls.
  virtual std::pair<torch::Tensor, torch::Tensor> forward_branches(
      const torch::Tensor& x, const torch::Tensor& t, const Condition& condition_a,
      std::optional<double> budget_a, const Condition& condition_b, std::optional<double> budget_b,
      SpanCache* cache_a = nullptr, SpanCache* cache_b = nullptr);
  virtual ModelSpec spec() const = 0;
  // The configuration that rebuilds this model (stored in model files).
  virtual nlohmann::json config_json() const = 0;
  // The condition of the unconditional branch of classifier-free guidance.
  virtual Condition null_condition(const Condition& condition) const;
  // The condition for class labels [B] (a text-conditioned model turns them into captions).
  virtual Condition condition_for_labels(const torch::Tensor& labels) const;
  // The condition for text prompts; only text-conditioned models support it.
  virtual Condition condition_for_prompts(const std::vector<std::string>& prompts) const;
  // Latents kept per group for a budget; throws elit::Error for an invalid budget.
  int64_t keep_for_budget(double budget) const;
  // Latents kept per group for one forward: from the budget when given; otherwise all of them in
  // eval mode and, in training mode, a budget drawn uniformly from training_budgets() with
  // torch's global RNG (published masking strategy). 1 without a latent interface.
  int64_t resolve_keep(std::optional<double> budget) const;
};

// Training-time label dropout for classifier-free guidance: each label becomes `null_label` with
// probability `prob` (torch's global RNG). labels: [B] int64.
torch::Tensor drop_labels(const torch::Tensor& labels, double prob, int64_t null_label);

using ModelPtr = std::shared_ptr<DiffusionModel>;

}  // namespace elit::models
