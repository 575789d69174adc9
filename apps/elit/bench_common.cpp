#include "bench_common.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli_common.h"
#include "config_file.h"
#include "elit/metrics/flops.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/train/trainer.h"

namespace elit::app::bench {

double paired_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> ratios;
  for (size_t r = 0; r < std::min(a.size(), b.size()); ++r) ratios.push_back(a[r] / b[r]);
  return median(ratios);
}

json parse_model_overrides(const std::vector<std::string>& args) {
  json out = json::object();
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    check(arg.rfind("--", 0) == 0 && arg.size() > 2, "elit bench: unexpected argument '", arg,
          "' (expected --model-config-key value, e.g. --encoder_depth 2)");
    std::string key = arg.substr(2), text;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      text = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      check(i + 1 < args.size(), "elit bench: --", key, " needs a value");
      text = args[++i];
    }
    std::replace(key.begin(), key.end(), '-', '_');
    out[key] = yaml_to_json(text, "--" + key);
  }
  return out;
}

std::vector<BenchModel> bench_models(const BenchOptions& o) {
  std::vector<BenchModel> out;
  auto shape = [&](json c) {
    c.update(o.overrides);
    if (o.input_size) c["input_size"] = *o.input_size;
    if (o.in_channels) c["in_channels"] = *o.in_channels;
    if (o.num_classes) c["num_classes"] = *o.num_classes;
    return models::resolve_model_config(with_default_captions(c));
  };
  for (const auto& name : o.models)
    out.push_back({name, shape({{"model", name}}), o.batch.value_or(8), o.dtype});
  if (!o.model_config.empty()) {
    auto c = shape(read_config_file(o.model_config));
    out.push_back({c.value("model", o.model_config), c, o.batch.value_or(8), o.dtype});
  }
  if (!o.config.empty()) {
    const auto t = train::train_config_from_json(read_config_file(o.config));
    const auto data = data::make_dataset(train::training_dataset_options(t));
    out.push_back({t.exp_name, shape(train::training_model_config(t, data->info())),
                   o.batch.value_or(t.batch_size),
                   o.dtype == "float32" ? t.mixed_precision : o.dtype});
  }
  check(!out.empty(), "elit bench: give --model NAME, --model-config FILE or --config TRAIN.yaml");
  return out;
}

std::vector<double> budgets_for(const models::DiffusionModel& model, const BenchOptions& o) {
  if (!o.budgets.empty()) return o.budgets;
  const auto spec = model.spec();
  std::vector<double> out = {1.0};
  if (!spec.elit) return out;  // a baseline may list levels it has no latents to drop for
  const auto training = models::training_budgets(spec);
  out.insert(out.end(), training.begin(), training.end());
  std::sort(out.rbegin(), out.rend());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Resident memory now (not the peak), for growth over a long run.
double rss_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

json common_fields(const std::string& what, const BenchModel& m, const models::ModelSpec& spec,
                   double budget, const std::string& dtype, const BenchOptions& o) {
  return {{"what", what},
          {"model", m.name},
          {"batch", m.batch},
          {"input_size", {spec.in_channels, spec.height, spec.width}},
          {"budget", budget},
          {"dtype", dtype},
          {"threads", torch::get_num_threads()},
          {"steps", o.steps}};
}

json forward_flops(const json& config, int64_t rows, double budget) {
  if (!metrics::has_analytic_flops(config)) return nullptr;
  metrics::ForwardFlopsOptions f;
  f.batch = rows;
  f.budget = budget;
  f.convention = metrics::FlopsConvention::this_port;
  return metrics::analytic_forward_flops(config, f).total();
}

json rate(const json& flops, double seconds) {
  return flops.is_null() ? json() : json(flops.get<double>() / seconds / 1e9);
}

void emit(const json& line, const BenchOptions& o) {
  std::cout << line.dump() << std::endl;
  if (!o.out.empty()) std::ofstream(o.out, std::ios::app) << line.dump() << "\n";
}

void add_shared_options(CLI::App& cmd, BenchOptions& o) {
  cmd.add_option("--model", o.models, "named model(s), e.g. ELIT-SiT-S/2 (repeatable)");
  cmd.add_option("--model-config", o.model_config, "model configuration file (JSON/YAML)");
  cmd.add_option("--config", o.config, "training configuration (e.g. configs/fmnist_elit_s4.yaml)");
  cmd.add_option("--batch", o.batch, "batch size (default: the config's, else 8)");
  cmd.add_option("--input-size", o.input_size, "override the model's input size");
  cmd.add_option("--in-channels", o.in_channels, "override the model's input channels");
  cmd.add_option("--num-classes", o.num_classes, "override the model's class count");
  cmd.add_option("--budget,--budgets", o.budgets,
                 "budgets to measure (default: full and every training level)")
      ->delimiter(',');
  cmd.add_option(
         "--dtype", o.dtype,
         "float32 or bf16 (training: autocast, default the config's; inference: bf16 weights)")
      ->capture_default_str();
  cmd.add_option("--steps", o.steps, "timed repetitions (median reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--warmup", o.warmup, "untimed repetitions first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--out", o.out, "also append the JSON lines to this file");
  cmd.allow_extras();
  cmd.footer(
      "Any model-configuration key overrides the named model: --encoder_depth 2, "
      "--group-size 4, ...");
}

}  // namespace elit::app::bench
