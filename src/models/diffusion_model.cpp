#include "elit/models/diffusion_model.h"

#include "elit/models/budget.h"
#include "elit/models/dropout_draws.h"
#include "elit/runtime/error.h"

namespace elit::models {
namespace {

template <typename F>
Condition map_fields(const Condition& c, F&& f) {
  Condition out;
  if (c.labels.defined()) out.labels = f(c.labels);
  if (c.context.defined()) out.context = f(c.context);
  if (c.context_mask.defined()) out.context_mask = f(c.context_mask);
  if (c.pooled.defined()) out.pooled = f(c.pooled);
  if (c.tokens.defined()) out.tokens = f(c.tokens);
  return out;
}

}  // namespace

int64_t Condition::batch() const {
  for (const auto* t : {&labels, &context, &pooled, &context_mask, &tokens}) {
    if (t->defined()) return t->size(0);
  }
  return 0;
}

Condition Condition::narrow(int64_t begin, int64_t length) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.narrow(0, begin, length); });
}

Condition Condition::index_select(const torch::Tensor& index) const {
  return map_fields(
      *this, [&](const torch::Tensor& t) { return t.index_select(0, index.to(t.device())); });
}

Condition Condition::to(torch::Device device) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.to(device); });
}

Condition Condition::cat(const Condition& a, const Condition& b) {
  auto join = [](const torch::Tensor& x, const torch::Tensor& y) {
    check(x.defined() == y.defined(), "cannot batch conditions with different fields");
    return x.defined() ? torch::cat({x, y}, 0) : torch::Tensor();
  };
  Condition out;
  out.labels = join(a.labels, b.labels);
  out.context = join(a.context, b.context);
  out.context_mask = join(a.context_mask, b.context_mask);
  out.pooled = join(a.pooled, b.pooled);
  out.tokens = join(a.tokens, b.tokens);
  return out;
}

Condition Condition::from_labels(torch::Tensor labels) {
  Condition c;
  c.labels = std::move(labels);
  return c;
}

Condition DiffusionModel::null_condition(const Condition& condition) const {
  const auto s = spec();
  check(s.num_classes > 0 && condition.labels.defined(), "model '", s.name,
        "' has no null condition for classifier-free guidance");
  return Condition::from_labels(torch::full_like(condition.labels, s.num_classes));
}

Condition DiffusionModel::condition_for_labels(const torch::Tensor& labels) const {
  return Condition::from_labels(labels);
}

Condition DiffusionModel::condition_for_prompts(const std::vector<std::string>&) const {
  fail("model '", spec().name, "' is not text-conditioned; it takes class labels, not prompts");
}

torch::Tensor DiffusionModel::forward_cached(const torch::Tensor&, const torch::Tensor&,
                                             const Condition&, std::optional<double>, SpanCache&) {
  const auto s = spec();
  fail("model '", s.name, "' (family ", s.family,
       ") has no cacheable span: TeaCache is available for SiT and ELIT-SiT models");
}

std::pair<torch::Tensor, torch::Tensor> DiffusionModel::forward_branches(
    const torch::Tensor& x, const torch::Tensor& t, const Condition& condition_a,
    std::optional<double> budget_a, const Condition& condition_b, std::optional<double> budget_b,
    SpanCache* cache_a, SpanCache* cache_b) {
  auto one = [&](const Condition& c, std::optional<double> b, SpanCache* cache) {
    return cache ? forward_cached(x, t, c, b, *cache) : forward(x, t, c, b);
  };
  auto a = one(condition_a, budget_a, cache_a);
  return {a, one(condition_b, budget_b, cache_b)};
}

int64_t DiffusionModel::keep_for_budget(double budget) const {
  const auto s = spec();
  if (!s.elit) {
    check(budget == 1.0, "model '", s.name,
          "' has no latent interface; only budget 1 is valid, got ", budget);
    return 1;
  }
  return keep_from_budget(budget, s.tokens_per_group, s.latent_tokens);
}

int64_t DiffusionModel::resolve_keep(std::optional<double> budget) const {
  if (budget) return keep_for_budget(*budget);
  const auto s = spec();
  if (!s.elit || !is_training()) return s.tokens_per_group;
  const auto budgets = training_budgets(s);
  const auto pick = torch::randint(static_cast<int64_t>(budgets.size()), {1}).item<int64_t>();
  return keep_from_budget(budgets[pick], s.tokens_per_group, s.latent_tokens);
}

std::vector<double> training_budgets(const ModelSpec& s) {
  if (!s.elit) return {};
  return training_budgets(s.elit_min_mask_prob, s.elit_max_mask_prob, s.tokens_per_group);
}

torch::Tensor drop_labels(const torch::Tensor& labels, double prob, int64_t null_label) {
  if (prob <= 0) return labels;
  auto drop = dropout_uniforms(labels.size(0), labels.device()) < prob;
  return torch::where(drop, torch::full_like(labels, null_label), labels);
}

}  // namespace elit::models
