// elit bench: machine-readable measurements, one JSON object per line on stdout (and --out).
// Modes are sub-commands over shared options (models, batch, budgets, dtype, repeats):
//   train  full training updates: forward + backward + clipping + AdamW + EMA
// (forward and sample modes plug in next to train with the same options and output.)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "distributed.h"
#include "elit/metrics/flops.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/train/process_group_communicator.h"
#include "elit/train/trainer.h"

namespace elit::app {
namespace {
using nlohmann::json;

struct BenchOptions {
  std::vector<std::string> models;  // named models
  std::string model_config;         // a model configuration file
  std::string config;               // a training configuration (configs/*.yaml)
  std::optional<int64_t> batch, input_size, in_channels, num_classes;
  std::vector<double> budgets;
  std::string dtype = "float32";  // float32 | bf16 (autocast)
  int steps = 5, warmup = 2;
  std::string out;
  DistributedFlags dist;
  std::string rank_results;  // internal: where rank 0 of --nproc writes its lines
};

struct BenchModel {
  std::string name;
  json config;  // complete model configuration
  int64_t batch = 8;
  std::string precision;  // mixed_precision of the run
};

std::vector<BenchModel> bench_models(const BenchOptions& o) {
  std::vector<BenchModel> out;
  auto shape = [&](json c) {
    if (o.input_size) c["input_size"] = *o.input_size;
    if (o.in_channels) c["in_channels"] = *o.in_channels;
    if (o.num_classes) c["num_classes"] = *o.num_classes;
    return models::resolve_model_config(c);
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

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

void emit(const json& line, const BenchOptions& o) {
  std::cout << line.dump() << std::endl;
  if (!o.out.empty()) std::ofstream(o.out, std::ios::app) << line.dump() << "\n";
}

std::vector<double> budgets_for(const models::DiffusionModel& model, const BenchOptions& o) {
  if (!o.budgets.empty()) return o.budgets;
  const auto spec = model.spec();
  std::vector<double> out = {1.0};
  if (!spec.elit) return out;  // a baseline may list levels it has no latents to drop for
  for (const double level : model.training_mask_levels()) {
    out.push_back(train::budget_for_mask_prob(level, spec.tokens_per_group));
  }
  std::sort(out.rbegin(), out.rend());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Matrix-product FLOPs of one training update (PyTorch FlopCounterMode counting: the backward
// pass does twice the forward's products), or null for a family without an analytic count.
json train_flops(const json& config, int64_t batch, std::optional<double> budget) {
  if (!metrics::has_analytic_flops(config)) return nullptr;
  metrics::ForwardFlopsOptions f;
  f.batch = batch;
  f.budget = budget.value_or(1.0);
  f.convention = metrics::FlopsConvention::this_port;
  return 3 * metrics::analytic_forward_flops(config, f).total();
}

// Sorted wall times of o.steps updates after o.warmup untimed ones.
std::vector<double> time_updates(train::TrainStep& step, const data::Batch& batch,
                                 std::optional<double> budget, const BenchOptions& o) {
  std::vector<double> times;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step.run({batch}, budget, /*step=*/1000);  // past any warmup: the full learning rate
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i >= o.warmup) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  return times;
}

// One JSON line per model and budget. On W ranks (comm) every rank runs its batch / W rows and
// the update includes the gradient all-reduce; the line reports the global batch.
std::vector<json> measure_train(const BenchOptions& o, train::Communicator& comm) {
  std::vector<json> lines;
  auto shared = std::shared_ptr<train::Communicator>(&comm, [](train::Communicator*) {});
  for (const auto& m : bench_models(o)) {
    check(m.batch % comm.world_size() == 0, "elit bench train: batch ", m.batch,
          " is not divisible by --nproc ", comm.world_size());
    torch::manual_seed(0);
    auto model = models::create_model(m.config);
    const auto spec = model->spec();
    train::TrainStepOptions so;
    so.precision = train::parse_mixed_precision(m.precision);
    train::TrainStep step(model, so, shared);
    const int64_t rows = m.batch / comm.world_size();
    data::Batch batch;
    batch.x = torch::randn({rows, spec.in_channels, spec.height, spec.width});
    batch.labels = torch::randint(std::max<int64_t>(spec.num_classes, 1), {rows}, torch::kInt64);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    for (const double budget : budgets_for(*model, o)) {
      const std::optional<double> b = spec.elit ? std::optional<double>(budget) : std::nullopt;
      const auto times = time_updates(step, batch, b, o);
      const double median = times[times.size() / 2];
      json line = {
          {"what", "train"},
          {"model", m.name},
          {"params", params},
          {"batch", m.batch},
          {"input_size", {spec.in_channels, spec.height, spec.width}},
          {"budget", budget},
          {"dtype",
           train::to_string(so.precision) == "no" ? "float32" : train::to_string(so.precision)},
          {"processes", comm.world_size()},
          {"threads", torch::get_num_threads()},
          {"steps", o.steps},
          {"median_s", median},
          {"min_s", times.front()},
          {"images_per_s", static_cast<double>(m.batch) / median},
          {"peak_rss_mb", peak_rss_mb()},
          {"flops", train_flops(m.config, m.batch, b)}};
      line["gflop_per_s"] =
          line["flops"].is_null() ? json() : json(line["flops"].get<double>() / median / 1e9);
      lines.push_back(line);
    }
  }
  return lines;
}

// --nproc N: the same updates on 1 process (all cores) and on N local ranks (cores / N threads
// each, global batch split), then one line per model and budget with both and the efficiency.
void bench_train_scaling(const BenchOptions& o) {
  train::LocalCommunicator local;
  const auto single = measure_train(o, local);
  const auto results = (std::filesystem::temp_directory_path() /
                        ("elit-bench-" + std::to_string(::getpid()) + ".jsonl"))
                           .string();
  launch_ranks(o.dist, {"--rank-results", results});
  std::ifstream in(results);
  std::vector<json> ranked;
  for (std::string line; std::getline(in, line);) ranked.push_back(json::parse(line));
  std::filesystem::remove(results);
  check(ranked.size() == single.size(), "elit bench train: rank 0 reported ", ranked.size(),
        " measurements, expected ", single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    auto line = ranked[i];
    const double base = single[i]["images_per_s"].get<double>();
    line["baseline_threads"] = single[i]["threads"];
    line["baseline_median_s"] = single[i]["median_s"];
    line["baseline_images_per_s"] = base;
    line["speedup"] = line["images_per_s"].get<double>() / base;
    line["scaling_efficiency"] = line["speedup"].get<double>() / o.dist.nproc;
    emit(line, o);
  }
}

void bench_train(const BenchOptions& o) {
  start_command();
  if (o.dist.launching()) return bench_train_scaling(o);
  const auto comm = train::communicator_from_env(o.dist.timeout());
  const auto lines = measure_train(o, *comm);
  if (!comm->is_main()) return;
  for (const auto& line : lines) {
    if (o.rank_results.empty()) {
      emit(line, o);
    } else {
      std::ofstream(o.rank_results, std::ios::app) << line.dump() << "\n";
    }
  }
}

void add_shared_options(CLI::App& cmd, BenchOptions& o) {
  cmd.add_option("--model", o.models, "named model(s), e.g. ELIT-SiT-S/2 (repeatable)");
  cmd.add_option("--model-config", o.model_config, "model configuration file (JSON/YAML)");
  cmd.add_option("--config", o.config, "training configuration (e.g. configs/fmnist_elit_s4.yaml)");
  cmd.add_option("--batch", o.batch, "batch size (default: the config's, else 8)");
  cmd.add_option("--input-size", o.input_size, "override the model's input size");
  cmd.add_option("--in-channels", o.in_channels, "override the model's input channels");
  cmd.add_option("--num-classes", o.num_classes, "override the model's class count");
  cmd.add_option("--budget", o.budgets,
                 "budgets to measure (default: full and every training level)")
      ->delimiter(',');
  cmd.add_option("--dtype", o.dtype, "float32 or bf16 (autocast; default: the config's)")
      ->capture_default_str();
  cmd.add_option("--steps", o.steps, "timed repetitions (median reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--warmup", o.warmup, "untimed repetitions first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--out", o.out, "also append the JSON lines to this file");
  o.dist.add_to(cmd, /*default_timeout_s=*/300);
  cmd.add_option("--rank-results", o.rank_results)->group("");  // internal, for --nproc
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "machine-readable measurements, one JSON object per line (modes: train)");
  bench->require_subcommand(1);
  auto train_opts = std::make_shared<BenchOptions>();
  auto* train = bench->add_subcommand(
      "train",
      "time full training updates (forward, backward, clipping, AdamW, EMA) per model and\n"
      "budget. Fields: what, model, params, batch, input_size, budget, dtype, threads, steps,\n"
      "median_s, min_s, images_per_s, peak_rss_mb (process peak so far), flops (matrix products\n"
      "of one update: 3x the analytic forward; null without an analytic count), gflop_per_s,\n"
      "processes. --nproc N measures 1 process (all cores) and N ranks (cores / N threads\n"
      "each, the global batch split, gradients all-reduced) and adds baseline_threads,\n"
      "baseline_median_s, baseline_images_per_s, speedup, scaling_efficiency = speedup / N");
  add_shared_options(*train, *train_opts);
  train->callback([train_opts] { bench_train(*train_opts); });
}

}  // namespace elit::app
