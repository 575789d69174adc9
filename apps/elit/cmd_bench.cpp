// elit bench: machine-readable measurements, one JSON object per line on stdout (and --out).
// Modes are sub-commands over shared options (models, batch, budgets, dtype, repeats, and any
// model-configuration key as --key value):
//   forward  an inference forward per budget, against the float32/bfloat16 matmul peak measured
//            in the same process, with time and FLOPs ratios to budget 1
//   train    full training updates: forward + backward + clipping + AdamW + EMA
//   sample   one sampling step (a guided velocity) per guidance mode: none, CFG, cheap CFG
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
#include "elit/sampling/guidance.h"
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
  std::string dtype = "float32";  // float32 | bf16 (autocast in training, bf16 weights otherwise)
  int steps = 5, warmup = 2;
  std::string out;
  json overrides = json::object();      // --key value model-configuration overrides
  double cfg_scale = 4.0;               // sample: guidance scale
  std::optional<double> uncond_budget;  // sample: cheap CFG's budget (default 1/T)
  bool matmul_peak = true;              // forward: measure the matmul peak too
  DistributedFlags dist;                // train: --nproc N scaling
  std::string rank_results;             // internal: where rank 0 of --nproc writes its lines
};

// --encoder_depth 2, --group-size=4, ...: model-configuration keys (published constructor names,
// hyphens or underscores) with YAML-typed values.
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

struct BenchModel {
  std::string name;
  json config;  // complete model configuration
  int64_t batch = 8;
  std::string precision;  // mixed_precision of the run
};

std::vector<BenchModel> bench_models(const BenchOptions& o) {
  std::vector<BenchModel> out;
  auto shape = [&](json c) {
    c.update(o.overrides);
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

// Resident memory now (not the peak), for growth over a long run.
double rss_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

double median_of(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Sorted wall times of `steps` calls of f after `warmup` untimed ones.
template <typename F>
std::vector<double> time_calls(int warmup, int steps, F&& f) {
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  return times;
}

// GFLOP/s of a square matmul large enough to reach the BLAS's peak, in this process.
double matmul_peak_gflops(torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  const int64_t n = 1536;
  auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  const auto times = time_calls(2, 5, [&] { torch::mm(a, b); });
  return 2.0 * n * n * n / times.front() / 1e9;
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

// Matrix-product FLOPs of one forward over `rows` samples (this port's count: Read's shared
// queries projected once), or null for a family without an analytic count.
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
      // Past any warmup (step 1000): the full learning rate.
      const auto times = time_calls(o.warmup, o.steps, [&] { step.run({batch}, b, 1000); });
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
      line["gflops_per_s"] = rate(line["flops"], median);
      line["rss_mb"] = rss_mb();
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

// A fresh model's zero-initialised output layers (adaLN-Zero) make every output 0; give them
// small random values, as in a trained model, so that outputs can be compared across dtypes.
void fill_zero_parameters(models::DiffusionModel& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) {
    if (p.numel() > 1 && p.eq(0).all().item<bool>()) p.normal_(0.0, 0.02);
  }
}

torch::Dtype inference_dtype(const std::string& name) {
  if (name == "float32" || name == "no") return torch::kFloat32;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  throw Error("elit bench: --dtype must be float32 or bf16 for inference, got '" + name + "'");
}

void bench_forward(const BenchOptions& o) {
  start_command();
  torch::NoGradGuard no_grad;
  const auto dtype = inference_dtype(o.dtype);
  const std::string dtype_label = dtype == torch::kFloat32 ? "float32" : "bfloat16";
  for (const auto& m : bench_models(o)) {
    torch::manual_seed(0);
    auto model = models::create_model(m.config);
    model->eval();
    fill_zero_parameters(*model);
    const auto spec = model->spec();
    auto x = torch::randn({m.batch, spec.in_channels, spec.height, spec.width});
    auto t = torch::rand({m.batch});
    auto cond = model->condition_for_labels(
        torch::randint(std::max<int64_t>(spec.num_classes, 1), {m.batch}, torch::kInt64));
    const auto budgets = budgets_for(*model, o);
    // bfloat16 runs bfloat16 weights; its outputs are compared with float32 ones.
    std::vector<torch::Tensor> reference;
    if (dtype != torch::kFloat32) {
      for (const double b : budgets)
        reference.push_back(model->forward(x, t, cond, sampling::model_budget(spec, b)));
      model->to(dtype);
    }
    const auto xd = x.to(dtype), td = t.to(dtype);
    std::optional<double> time_full;
    json flops_full;
    for (size_t i = 0; i < budgets.size(); ++i) {
      const double b = budgets[i];
      const auto mb = sampling::model_budget(spec, b);
      torch::Tensor out;
      const auto times =
          time_calls(o.warmup, o.steps, [&] { out = model->forward(xd, td, cond, mb); });
      const double median = times[times.size() / 2];
      auto line = common_fields("forward", m, spec, b, dtype_label, o);
      line["median_s"] = median;
      line["min_s"] = times.front();
      line["images_per_s"] = static_cast<double>(m.batch) / median;
      line["flops"] = forward_flops(m.config, m.batch, b);
      line["gflops_per_s"] = rate(line["flops"], median);
      if (o.matmul_peak) {
        // Measured right after this budget's forwards: this machine's speed drifts by minutes.
        const double peak = matmul_peak_gflops(dtype);
        line["matmul_peak_gflops_per_s"] = peak;
        line["peak_fraction"] = line["gflops_per_s"].is_null()
                                    ? json()
                                    : json(line["gflops_per_s"].get<double>() / peak);
      }
      if (b == 1.0) {
        time_full = median;
        flops_full = line["flops"];
      }
      if (time_full) {
        // Budget proportionality: time(b)/time(1) against FLOPs(b)/FLOPs(1).
        line["time_ratio"] = median / *time_full;
        if (!flops_full.is_null()) {
          line["flops_ratio"] = line["flops"].get<double>() / flops_full.get<double>();
          line["time_over_flops_ratio"] =
              line["time_ratio"].get<double>() / line["flops_ratio"].get<double>();
        }
      }
      if (!reference.empty()) {
        const auto ref = reference[i];
        line["rel_err_vs_float32"] =
            ((out.to(torch::kFloat32) - ref).norm() / ref.norm()).item<double>();
      }
      line["peak_rss_mb"] = peak_rss_mb();
      emit(line, o);
    }
  }
}

// Time per sampling step (one guided velocity) for no guidance, CFG and cheap CFG.
void bench_sample(const BenchOptions& o) {
  start_command();
  torch::NoGradGuard no_grad;
  const auto dtype = inference_dtype(o.dtype);
  const std::string dtype_label = dtype == torch::kFloat32 ? "float32" : "bfloat16";
  for (const auto& m : bench_models(o)) {
    torch::manual_seed(0);
    auto model = models::create_model(m.config);
    model->eval();
    fill_zero_parameters(*model);
    model->to(dtype);
    const auto spec = model->spec();
    auto x = torch::randn({m.batch, spec.in_channels, spec.height, spec.width}, torch::kFloat64);
    auto cond = model->condition_for_labels(
        torch::randint(std::max<int64_t>(spec.num_classes, 1), {m.batch}, torch::kInt64));
    const auto null_cond = model->null_condition(cond);
    const double uncond = o.uncond_budget.value_or(
        spec.elit ? 1.0 / static_cast<double>(spec.tokens_per_group) : 1.0);
    for (const double b : o.budgets.empty() ? std::vector<double>{1.0} : o.budgets) {
      std::optional<double> cfg_time;
      std::vector<std::pair<std::string, sampling::GuidanceOptions>> modes(3);
      modes[0].first = "none";
      modes[1].first = "cfg";
      modes[1].second.scale = o.cfg_scale;
      modes[2].first = "ccfg";
      modes[2].second.scale = o.cfg_scale;
      modes[2].second.uncond_budget = uncond;
      if (!spec.elit) modes.pop_back();  // cheap CFG needs a latent interface
      for (const auto& [name, guidance] : modes) {
        sampling::GuidedCall call;
        const double rss_before = rss_mb();
        const auto times = time_calls(o.warmup, o.steps, [&] {
          sampling::guided_velocity(*model, x, 0.5, cond, null_cond, b, guidance, dtype, &call);
        });
        const double median = times[times.size() / 2];
        auto line = common_fields("sample_step", m, spec, b, dtype_label, o);
        line["guidance"] = name;
        line["cfg_scale"] = guidance.scale;
        if (name == "ccfg") line["uncond_budget"] = uncond;
        line["forwards"] = call.forwards;
        line["median_s"] = median;
        line["min_s"] = times.front();
        json flops = forward_flops(m.config, m.batch, b);
        if (!flops.is_null() && name == "cfg") flops = 2 * flops.get<int64_t>();
        if (!flops.is_null() && name == "ccfg")
          flops = flops.get<int64_t>() + forward_flops(m.config, m.batch, uncond).get<int64_t>();
        line["flops"] = flops;
        line["gflops_per_s"] = rate(flops, median);
        if (name == "cfg") cfg_time = median;
        if (name == "ccfg" && cfg_time) line["time_vs_cfg"] = median / *cfg_time;
        line["rss_growth_mb"] = rss_mb() - rss_before;
        line["peak_rss_mb"] = peak_rss_mb();
        emit(line, o);
      }
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

// Registers a mode whose callback parses the extra --key value pairs first.
template <typename Run>
CLI::App* add_mode(CLI::App& bench, const std::string& name, const std::string& help,
                   std::shared_ptr<BenchOptions> opts, Run run) {
  auto* cmd = bench.add_subcommand(name, help);
  add_shared_options(*cmd, *opts);
  cmd->callback([cmd, opts, run] {
    opts->overrides = parse_model_overrides(cmd->remaining());
    run(*opts);
  });
  return cmd;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "machine-readable measurements, one JSON object per line (forward, train, sample)");
  bench->require_subcommand(1);
  auto forward_opts = std::make_shared<BenchOptions>();
  auto* forward = add_mode(
      *bench, "forward",
      "time an inference forward per budget. Fields: what, model, batch, input_size, budget,\n"
      "dtype, threads, steps, median_s, min_s, images_per_s, flops (matrix products, this port's\n"
      "count), gflops_per_s, matmul_peak_gflops_per_s (a 1536^3 matmul in this process, same\n"
      "dtype, right after each budget), peak_fraction, time_ratio / flops_ratio /\n"
      "time_over_flops_ratio (against budget 1), rel_err_vs_float32 (bf16), peak_rss_mb",
      forward_opts, bench_forward);
  forward->add_flag("!--no-matmul-peak", forward_opts->matmul_peak,
                    "skip measuring the matmul peak");
  auto train_opts = std::make_shared<BenchOptions>();
  auto* train = add_mode(
      *bench, "train",
      "time full training updates (forward, backward, clipping, AdamW, EMA) per model and\n"
      "budget. Fields: what, model, params, batch, input_size, budget, dtype, processes,\n"
      "threads, steps, median_s, min_s, images_per_s, peak_rss_mb (process peak so far), rss_mb\n"
      "(now: repeat a budget with many --steps to see growth), flops (matrix products of one\n"
      "update: 3x the analytic forward; null without an analytic count), gflops_per_s.\n"
      "--nproc N measures 1 process (all cores) and N ranks (cores / N threads each, the global\n"
      "batch split, gradients all-reduced) and adds baseline_threads, baseline_median_s,\n"
      "baseline_images_per_s, speedup, scaling_efficiency = speedup / N",
      train_opts, bench_train);
  train_opts->dist.add_to(*train, /*default_timeout_s=*/300);
  train->add_option("--rank-results", train_opts->rank_results)->group("");  // internal
  auto sample_opts = std::make_shared<BenchOptions>();
  auto* sample = add_mode(
      *bench, "sample",
      "time one sampling step (a guided velocity at t = 0.5) per guidance mode: none, cfg (both\n"
      "branches batched at the budget), ccfg (unconditional branch at --uncond-budget).\n"
      "Fields: what, model, batch, input_size, budget, dtype, guidance, cfg_scale, uncond_budget,\n"
      "forwards, median_s, min_s, flops, gflops_per_s, time_vs_cfg (ccfg), rss_growth_mb,\n"
      "peak_rss_mb",
      sample_opts, bench_sample);
  sample->add_option("--cfg-scale", sample_opts->cfg_scale, "guidance scale")
      ->capture_default_str();
  sample->add_option("--uncond-budget", sample_opts->uncond_budget,
                     "cheap CFG: the unconditional branch's budget (default 1/T, the smallest)");
}

}  // namespace elit::app
