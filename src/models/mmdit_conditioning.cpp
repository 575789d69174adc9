// MM-DiT conditioning: the context a Condition gives (external features or the builtin text
// encoder), prompts and class captions, the null condition and caption dropout.
#include "elit/models/dropout_draws.h"
#include "elit/models/mmdit.h"
#include "elit/runtime/error.h"

namespace elit::models {

TextContext MMDiTImpl::text_context(const Condition& condition, int64_t batch) {
  if (!config_.builtin_text()) return external_context(condition, batch);
  check(condition.tokens.defined(), "model '", config_.model,
        "' has the builtin text encoder and needs token ids (Condition::tokens, from "
        "condition_for_prompts or condition_for_labels); none given");
  check(condition.tokens.dim() == 2 && condition.tokens.size(0) == batch, "model '", config_.model,
        "': tokens must be [", batch, ", L], got ", condition.tokens.sizes());
  auto encoded = text_encoder->forward(condition.tokens);
  return {encoded.context, encoded.mask, encoded.pooled};
}

TextContext MMDiTImpl::external_context(const Condition& condition, int64_t batch) const {
  const auto& cfg = config_;
  const auto& ctx = condition.context;
  check(ctx.defined(), "model '", cfg.model,
        "' is text-conditioned and needs context tokens "
        "(Condition::context [B, L, ",
        cfg.context_in_features, "]); none given");
  check(ctx.dim() == 3 && ctx.size(0) == batch, "model '", cfg.model, "': context must be [", batch,
        ", L, ", cfg.context_in_features, "], got ", ctx.sizes());
  check(ctx.size(2) == cfg.context_in_features, "model '", cfg.model, "': context width ",
        ctx.size(2), " does not match the model's context_in_features ", cfg.context_in_features);
  TextContext out{ctx, torch::Tensor(), torch::Tensor()};
  if (condition.context_mask.defined()) {
    const auto& m = condition.context_mask;
    check(m.dim() == 2 && m.size(0) == batch && m.size(1) == ctx.size(1), "model '", cfg.model,
          "': context_mask must be [", batch, ", ", ctx.size(1), "], got ", m.sizes());
    out.mask = m.scalar_type() == torch::kBool ? m : m != 0;
  }
  if (cfg.adm_in_channels > 0) {
    const auto& y = condition.pooled;
    check(y.defined(), "model '", cfg.model, "' needs the pooled text vector (Condition::pooled [",
          batch, ", ", cfg.adm_in_channels, "]); none given");
    check(y.dim() == 2 && y.size(0) == batch && y.size(1) == cfg.adm_in_channels, "model '",
          cfg.model, "': pooled must be [", batch, ", ", cfg.adm_in_channels, "], got ", y.sizes());
    out.pooled = y;
  } else {
    check(!condition.pooled.defined(), "model '", cfg.model,
          "' has no pooled-vector input (adm_in_channels 0) but Condition::pooled was given");
  }
  return out;
}

Condition MMDiTImpl::null_condition(const Condition& condition) const {
  Condition out;
  if (config_.builtin_text()) {
    check(condition.tokens.defined() && condition.tokens.dim() == 2, "model '", config_.model,
          "': the null condition needs the conditional branch's tokens [B, L]");
    // The empty prompt: the start token, then padding (same length as the conditional branch).
    out.tokens = torch::zeros_like(condition.tokens);
    out.tokens.select(1, 0).fill_(text::WordTokenizer::kStart);
    return out;
  }
  check(condition.context.defined(), "model '", config_.model,
        "': the null condition needs the conditional branch's context");
  // Every context token padded: the image stream sees no text; a zero pooled vector.
  out.context = torch::zeros_like(condition.context);
  out.context_mask = torch::zeros(condition.context.sizes().slice(0, 2),
                                  condition.context.options().dtype(torch::kBool));
  if (condition.pooled.defined()) out.pooled = torch::zeros_like(condition.pooled);
  return out;
}

void MMDiTImpl::set_label_context(const Condition& rows, const std::string& path) {
  const auto& cfg = config_;
  check(!cfg.builtin_text(), "model '", cfg.model,
        "' has the builtin text encoder: its labels map to captions, not to context rows");
  check(rows.context.defined() && rows.context.dim() == 3, "'", path,
        "': label context must be [N, L, C], got ", rows.context.sizes());
  auto table = rows;
  check(table.context.size(2) == cfg.context_in_features, "'", path, "': context width ",
        table.context.size(2), " does not match the model's context_in_features ",
        cfg.context_in_features);
  check(cfg.adm_in_channels == 0 ||
            (table.pooled.defined() && table.pooled.size(1) == cfg.adm_in_channels),
        "'", path, "' needs pooled (N, ", cfg.adm_in_channels, ") for this model's y_embedder");
  if (cfg.adm_in_channels == 0) table.pooled = torch::Tensor();
  // The last row (label n) is the null condition with the rows' shapes.
  label_context_ = Condition::cat(table, null_condition(table.narrow(/*begin=*/0, /*length=*/1)));
}

Condition MMDiTImpl::condition_for_labels(const torch::Tensor& labels) const {
  check(config_.builtin_text() || label_context_.context.defined(), "model '", config_.model,
        "' takes precomputed text context (text_encoder \"external\"), not class labels; give "
        "Condition::context (e.g. from io::read_context_file) or set label_context_file");
  check(labels.dim() == 1 && labels.scalar_type() == torch::kInt64,
        "class labels must be int64 [B], got ", labels.scalar_type(), " ", labels.sizes());
  const int64_t n = spec().num_classes;
  check(labels.numel() == 0 ||
            (labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() <= n),
        "model '", config_.model, "' has captions for labels 0..", n - 1, " (", n,
        " = the null condition); got labels outside that range");
  if (!config_.builtin_text()) return label_context_.to(labels.device()).index_select(labels);
  Condition out;
  out.tokens = caption_tokens_.to(labels.device()).index_select(0, labels);
  return out;
}

Condition MMDiTImpl::condition_for_prompts(const std::vector<std::string>& prompts) const {
  check(config_.builtin_text(), "model '", config_.model,
        "' takes precomputed text context (text_encoder \"external\"), not prompts; encode the "
        "prompts with the text encoder it was trained with and give Condition::context");
  Condition out;
  out.tokens = tokenizer_->encode(prompts);
  return out;
}

Condition MMDiTImpl::drop_conditions(const Condition& condition) const {
  const double p = config_.caption_dropout_prob;
  const int64_t B = condition.batch();
  if (p <= 0 || B == 0) return condition;
  auto device =
      condition.tokens.defined()
          ? condition.tokens.device()
          : (condition.context.defined() ? condition.context.device() : torch::Device(torch::kCPU));
  auto drop = dropout_uniforms(B, device) < p;  // [B]
  Condition out = condition;
  if (config_.builtin_text()) {
    if (!condition.tokens.defined()) return condition;  // text_context reports what is missing
    auto null = null_condition(condition).tokens;
    out.tokens = torch::where(drop.unsqueeze(1), null, condition.tokens);
    return out;
  }
  if (!condition.context.defined()) return condition;
  auto mask = condition.context_mask.defined()
                  ? condition.context_mask.to(torch::kBool)
                  : torch::ones(condition.context.sizes().slice(0, 2),
                                condition.context.options().dtype(torch::kBool));
  out.context_mask = mask.logical_and(drop.logical_not().unsqueeze(1));  // [B, L]
  if (condition.pooled.defined()) {
    out.pooled =
        torch::where(drop.unsqueeze(1), torch::zeros_like(condition.pooled), condition.pooled);
  }
  return out;
}

}  // namespace elit::models
