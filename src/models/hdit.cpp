#include "elit/models/hdit.h"

#include "elit/models/config_keys.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

HDiTImpl::HDiTImpl(HDiTConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto& c = config_;
  const auto& levels = c.levels;
  const int64_t M = c.mapping_width;
  patch_in = register_module(
      "patch_in", hdit::TokenMerge(c.input_channels, levels[0].width, c.patch_h, c.patch_w));
  time_emb = register_module("time_emb", hdit::FourierFeatures(1, M));
  time_in_proj = register_module("time_in_proj", nn::Linear(nn::LinearOptions(M, M).bias(false)));
  aug_emb = register_module("aug_emb", hdit::FourierFeatures(9, M));
  aug_in_proj = register_module("aug_in_proj", nn::Linear(nn::LinearOptions(M, M).bias(false)));
  if (c.num_classes > 0) class_emb = register_module("class_emb", nn::Embedding(c.num_classes, M));
  mapping = register_module(
      "mapping", hdit::MappingNetwork(c.mapping_depth, M, c.mapping_d_ff, c.mapping_dropout));
  down_levels = register_module("down_levels", nn::ModuleList());
  up_levels = register_module("up_levels", nn::ModuleList());
  merges = register_module("merges", nn::ModuleList());
  splits = register_module("splits", nn::ModuleList());
  for (size_t i = 0; i + 1 < levels.size(); ++i) {
    down_levels->push_back(make_level(levels[i]));
    up_levels->push_back(make_level(levels[i]));
    merges->push_back(hdit::TokenMerge(levels[i].width, levels[i + 1].width));
    splits->push_back(hdit::TokenSplit(levels[i + 1].width, levels[i].width, /*with_skip=*/true));
  }
  mid_level = register_module("mid_level", make_level(c.mid()));
  out_norm = register_module("out_norm", hdit::RMSNorm(levels[0].width));
  patch_out =
      register_module("patch_out", hdit::TokenSplit(levels[0].width, c.input_channels,
                                                    /*with_skip=*/false, c.patch_h, c.patch_w));
  {
    torch::NoGradGuard no_grad;
    patch_out->proj->weight.zero_();  // published nn.init.zeros_(self.patch_out.proj.weight)
  }
  if (!c.enable_elit) return;
  const int64_t D = c.mid().width, heads = D / c.mid().d_head;
  input_token_editor = register_module(
      "input_token_editor",
      InputTokenEditor(Read(D, heads, c.group_size, c.latent_rows(),
                            ReadOptions{/*cond_features=*/M, /*position_dims=*/2})));
  output_token_editor =
      register_module("output_token_editor", OutputTokenEditor(Write(D, heads, c.group_size, 1)));
  initialize_latent_interface(input_token_editor, output_token_editor);
  // Slot offsets start at each slot's spatial offset in its group, so that at initialisation a
  // latent sits where the spatial token of its slot sits.
  torch::NoGradGuard no_grad;
  auto pos = make_axial_pos_for_level(levels.size() - 1, torch::kFloat32);
  input_token_editor->read->latent_pos_offset.copy_(
      in_group_offsets(pos.reshape({-1, 2}), group_layout()));
}

nn::ModuleList HDiTImpl::make_level(const HDiTLevelSpec& s) {
  nn::ModuleList level;
  for (int64_t i = 0; i < s.depth; ++i) {
    level->push_back(hdit::TransformerLayer(s.width, s.d_ff, s.d_head, config_.mapping_width,
                                            s.attention, s.kernel_size, s.dropout));
  }
  return level;
}

torch::Tensor HDiTImpl::make_axial_pos_for_level(size_t level, torch::Dtype dtype) const {
  // Published: positions of the patch grid, downscaled once per merge, in torch's default dtype.
  // That is the model's dtype for the published float32 models and for the float64 reference run
  // (positions in float32 there are off by ~1e-7), and float32 for reduced-precision models.
  auto pos = hdit::make_axial_pos(config_.level_h(0), config_.level_w(0), dtype);
  for (size_t i = 0; i < level; ++i) pos = hdit::downscale_pos(pos);
  return pos;
}

GroupLayout HDiTImpl::group_layout() const {
  const size_t m = config_.levels.size() - 1;
  return GroupLayout{config_.level_h(m), config_.level_w(m), config_.group_size};
}

ModelSpec HDiTImpl::spec() const {
  ModelSpec s;
  s.name = config_.model;
  s.family = "hdit";
  s.in_channels = config_.input_channels;
  s.height = config_.input_h;
  s.width = config_.input_w;
  s.num_classes = config_.num_classes > 0 ? config_.num_classes - 1 : 0;  // last row = null
  describe_latent_interface(s, config_, config_.mid_tokens());
  return s;
}

nlohmann::json HDiTImpl::config_json() const {
  return hdit_config_to_json(config_);
}

torch::Tensor HDiTImpl::sigma_for_time(const torch::Tensor& t) const {
  // Linear path x_t = (1 - t) x0 + t noise is x0 + sigma noise scaled by 1/(1 + sigma) with
  // sigma = t / (1 - t); t is kept away from 0 (log sigma) and 1 (division).
  auto tc = t.clamp(config_.rf_time_eps, 1.0 - config_.rf_time_eps);
  return tc / (1 - tc);
}

torch::Tensor HDiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                const Condition& condition, std::optional<double> budget) {
  const int64_t keep = resolve_keep(budget);
  const bool conditional = config_.num_classes > 0;
  check(!conditional || condition.labels.defined(), "model '", config_.model,
        "' needs class labels");
  auto y = conditional ? condition.labels : torch::Tensor();
  if (y.defined() && is_training()) {
    y = drop_labels(y, config_.class_dropout_prob, config_.num_classes - 1);
  }
  return forward_sigma(x, sigma_for_time(t), y, {}, keep);
}

torch::Tensor HDiTImpl::condition(const torch::Tensor& sigma, const torch::Tensor& y,
                                  const torch::Tensor& aug_cond, torch::Dtype dtype) {
  const int64_t B = sigma.size(0);
  auto c_noise = torch::log(sigma.to(dtype)) / 4;  // published EDM c_noise
  auto emb = time_in_proj(time_emb(c_noise.unsqueeze(-1)));
  auto aug =
      aug_cond.defined() ? aug_cond.to(dtype) : torch::zeros({B, 9}, sigma.options().dtype(dtype));
  check(aug.dim() == 2 && aug.size(0) == B && aug.size(1) == 9, "aug_cond must be [", B,
        ", 9], got ", aug.sizes());
  emb = emb + aug_in_proj(aug_emb(aug));
  if (class_emb) {
    check(y.defined() && y.dim() == 1 && y.size(0) == B, "model '", config_.model,
          "' needs class labels of shape [", B, "]");
    emb = emb + class_emb(y);
  }
  return mapping(emb);  // [B, mapping_width]
}

torch::Tensor HDiTImpl::run(nn::ModuleListImpl& level, const std::string& name, int64_t begin,
                            int64_t end, torch::Tensor x, const torch::Tensor& pos,
                            const torch::Tensor& cond, const char* domain) {
  for (int64_t i = begin; i < end; ++i) {
    if (trace_)
      trace_->push_back(
          {name + "." + std::to_string(i), domain, x.numel() / (x.size(0) * x.size(-1))});
    x = level[i]->as<hdit::TransformerLayer>()->forward(x, pos, cond);
  }
  return x;
}

torch::Tensor HDiTImpl::run_mid(torch::Tensor x, const torch::Tensor& pos,
                                const torch::Tensor& cond, int64_t keep) {
  const int64_t depth = config_.mid().depth;
  if (!config_.enable_elit) return run(*mid_level, "mid_level", 0, depth, x, pos, cond, "spatial");
  const int64_t e = config_.encoder_depth, d = config_.decoder_depth;
  const int64_t B = x.size(0), h = x.size(1), w = x.size(2), D = x.size(3);
  x = run(*mid_level, "mid_level", 0, e, x, pos, cond, "spatial");
  // [B, h, w, D] -> [B, h*w, D] raster tokens; positions [h*w, 2]
  auto read = input_token_editor->read->forward(x.reshape({B, h * w, D}), cond, group_layout(),
                                                keep, pos.reshape({h * w, 2}));
  if (trace_) trace_->push_back({"read", "interface", h * w});
  auto latents = run(*mid_level, "mid_level", e, depth - d, read.kept(), read.kept_positions(),
                     cond, "latent");
  if (trace_) trace_->push_back({"write", "interface", h * w});
  x = output_token_editor->write->forward(latents, read).reshape({B, h, w, D});
  return run(*mid_level, "mid_level", depth - d, depth, x, pos, cond, "spatial");
}

torch::Tensor HDiTImpl::forward_sigma(const torch::Tensor& x, const torch::Tensor& sigma,
                                      const torch::Tensor& y, const torch::Tensor& aug_cond,
                                      int64_t keep) {
  const auto& c = config_;
  check(x.dim() == 4 && x.size(1) == c.input_channels && x.size(2) == c.input_h &&
            x.size(3) == c.input_w,
        "model '", c.model, "' expects x of shape [B, ", c.input_channels, ", ", c.input_h, ", ",
        c.input_w, "], got ", x.sizes());
  check(sigma.dim() == 1 && sigma.size(0) == x.size(0), "sigma/t must be [", x.size(0), "], got ",
        sigma.sizes());
  auto h = patch_in(x.movedim(1, -1));  // [B, H, W, C] -> [B, h, w, D0]
  const auto pos_dtype = torch::promote_types(h.scalar_type(), torch::kFloat32);
  auto pos = make_axial_pos_for_level(0, pos_dtype).to(x.device());  // [h, w, 2]
  auto cond = condition(sigma, y, aug_cond, h.scalar_type());
  std::vector<torch::Tensor> skips, poses;
  for (size_t i = 0; i < merges->size(); ++i) {
    auto& level = *down_levels[i]->as<nn::ModuleList>();
    h = run(level, "down_levels." + std::to_string(i), 0, c.levels[i].depth, h, pos, cond,
            "spatial");
    skips.push_back(h);
    poses.push_back(pos);
    h = merges[i]->as<hdit::TokenMerge>()->forward(h);
    pos = hdit::downscale_pos(pos);
  }
  h = run_mid(h, pos, cond, keep);
  for (size_t i = merges->size(); i-- > 0;) {
    h = splits[i]->as<hdit::TokenSplit>()->forward(h, skips[i]);
    auto& level = *up_levels[i]->as<nn::ModuleList>();
    h = run(level, "up_levels." + std::to_string(i), 0, c.levels[i].depth, h, poses[i], cond,
            "spatial");
  }
  return patch_out(out_norm(h)).movedim(-1, 1);  // [B, H, W, C] -> [B, C, H, W]
}

Backbone hdit_backbone() {
  Backbone b;
  b.family = "hdit";
  b.name_prefixes = {"HDiT-", "ELIT-HDiT-"};
  // k-diffusion's config files give the model "type" image_transformer_v2.
  b.has_published_markers = [](const nlohmann::json& j) {
    return j.contains("type") && j["type"] == "image_transformer_v2";
  };
  b.resolve_config = [](const nlohmann::json& j) {
    auto c = hdit_config_from_json(j);
    c.validate();
    return hdit_config_to_json(c);
  };
  b.create = [](const nlohmann::json& j) -> ModelPtr {
    return HDiT(hdit_config_from_json(j)).ptr();
  };
  b.named_models = named_hdit_models;
  b.config_keys = hdit_config_keys;
  b.input_config = [](const InputShape& s) {
    return nlohmann::json{
        {"input_size", s.size}, {"input_channels", s.channels}, {"num_classes", s.num_classes}};
  };
  return b;
}

}  // namespace elit::models
