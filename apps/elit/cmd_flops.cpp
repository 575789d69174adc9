// elit flops: analytic FLOPs of one forward per component (the way PyTorch's FlopCounterMode
// counts), for a named published model at a resolution, a model configuration, or a checkpoint;
// optionally measured over a real forward too (any backbone).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "elit/io/model_file.h"
#include "elit/metrics/flops.h"
#include "elit/metrics/flops_counter.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/sampling/guidance.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

struct FlopsOptions {
  ModelOptions model;
  int64_t resolution = 0;
  std::optional<int64_t> encoder_depth, group_size;
  double budget = 1.0;
  int64_t batch = 1;
  bool cfg = false, json = false, measure = false, this_port = false;
};

// The configuration: a named model at --resolution (published script defaults), a
// --model-config, or a checkpoint's own configuration.
nlohmann::json resolve_config(const FlopsOptions& o) {
  nlohmann::json overrides = nlohmann::json::object();
  if (o.encoder_depth) overrides["encoder_depth"] = *o.encoder_depth;
  if (o.group_size) overrides["group_size"] = *o.group_size;
  if (!o.model.weights.empty()) {
    auto config = o.model.read().config;
    for (auto& [k, v] : overrides.items()) config[k] = v;
    return models::resolve_model_config(config);
  }
  auto config = o.model.config_overrides();
  check(config.has_value(), "give --model NAME --resolution R, --model-config FILE or --ckpt FILE");
  for (auto& [k, v] : overrides.items()) (*config)[k] = v;
  const std::string name = config->value("model", std::string());
  if (models::model_family(*config) == "sit" && models::is_named_sit_model(name)) {
    check(o.resolution > 0 || config->contains("input_size"), "--resolution is needed for '", name,
          "' (pixels, as the published scripts take it: 256 or 512)");
    if (o.resolution > 0) {
      nlohmann::json rest = *config;
      rest.erase("model");
      return models::sit_config_to_json(metrics::published_sit_config(name, o.resolution, rest));
    }
  }
  return models::resolve_model_config(with_default_captions(*config));
}

int64_t measure(const nlohmann::json& config, int64_t batch, double budget) {
  torch::NoGradGuard no_grad;
  auto model = io::create_model(config);
  model->eval();
  return metrics::measure_forward_flops(*model, batch,
                                        sampling::model_budget(model->spec(), budget));
}

void run(const FlopsOptions& o) {
  start_command();
  check(o.batch >= 1, "invalid --batch ", o.batch, ": must be at least 1");
  const auto config = resolve_config(o);
  const int64_t batch = o.batch * (o.cfg ? 2 : 1);  // CFG runs [cond; uncond] in one batch
  metrics::ForwardFlopsOptions fo;
  fo.batch = batch;
  fo.budget = o.budget;
  fo.convention =
      o.this_port ? metrics::FlopsConvention::this_port : metrics::FlopsConvention::published;
  nlohmann::json out = {{"model", config.value("model", std::string("custom"))},
                        {"config", config},
                        {"batch", batch},
                        {"budget", o.budget},
                        {"convention", o.this_port ? "this_port" : "published"}};
  const bool analytic = metrics::has_analytic_flops(config);
  metrics::FlopsBreakdown breakdown;
  if (analytic) {
    breakdown = metrics::analytic_forward_flops(config, fo);
    out.update(breakdown.to_json());
  }
  if (o.measure || !analytic) {
    out["measured_flops"] = measure(config, batch, o.budget);
    if (!analytic) out["flops"] = out["measured_flops"];
  }
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s, batch %lld, budget %g\n", out["model"].get<std::string>().c_str(),
              static_cast<long long>(batch), o.budget);
  const double total = out["flops"].get<double>();
  for (const auto& [name, v] : breakdown.components) {  // forward order
    std::printf("  %-16s %14.4f GFLOPs  %5.1f%%\n", name.c_str(), static_cast<double>(v) / 1e9,
                100.0 * static_cast<double>(v) / total);
  }
  std::printf("  %-16s %14.4f GFLOPs\n", "total", total / 1e9);
  if (out.contains("measured_flops")) {
    std::printf("  %-16s %14.4f GFLOPs (over this library's forward)\n", "measured",
                out["measured_flops"].get<double>() / 1e9);
  }
}

}  // namespace

void add_flops_command(CLI::App& app) {
  auto o = std::make_shared<FlopsOptions>();
  auto* cmd = app.add_subcommand(
      "flops", "analytic FLOPs of one forward per component (PyTorch FlopCounterMode counting)");
  o->model.add_to(*cmd, /*weights_required=*/false);
  cmd->add_option("--resolution", o->resolution,
                  "image resolution in pixels (latent models run at R/8, pixel models at R)");
  cmd->add_option("--budget", o->budget, "fraction of latents kept per group, or a count > 1")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "images per forward")->capture_default_str();
  cmd->add_flag("--cfg", o->cfg, "classifier-free guidance: twice the rows per forward");
  cmd->add_option("--encoder-depth", o->encoder_depth, "spatial blocks before Read (default 8)");
  cmd->add_option("--group-size", o->group_size, "latent group size g (default 4)");
  cmd->add_flag("--measure", o->measure,
                "also count over a real forward of a randomly initialised model (any backbone)");
  cmd->add_flag("--this-port", o->this_port,
                "count this library's forward (Read projects its learned queries once) instead "
                "of the published one");
  cmd->add_flag("--json", o->json, "print {\"flops\": total, \"components\": {...}, ...}");
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
