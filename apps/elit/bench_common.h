// Shared pieces of the `elit bench` modes: options, the models to measure, timing, FLOPs and the
// JSON-lines output. cmd_bench.cpp registers the modes; bench_inference.cpp (forward, sample) and
// bench_train.cpp (train) measure.
#pragma once
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "distributed.h"
#include "elit/models/diffusion_model.h"
#include "elit/runtime/timing.h"

namespace elit::app::bench {
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
  double ddp_bucket_mb = 4;             // train: gradient bucket size (0: reduce after backward)
  std::string rank_results;             // internal: where rank 0 of --nproc writes its lines
};

struct BenchModel {
  std::string name;
  json config;  // complete model configuration
  int64_t batch = 8;
  std::string precision;  // mixed_precision of the run
};

// --encoder_depth 2, --group-size=4, ...: model-configuration keys (published constructor names,
// hyphens or underscores) with YAML-typed values.
json parse_model_overrides(const std::vector<std::string>& args);

// The models the options name (--model, --model-config, --config), overrides applied.
std::vector<BenchModel> bench_models(const BenchOptions& o);

// Budgets to measure: the given ones, else full and every training level (ELIT only).
std::vector<double> budgets_for(const models::DiffusionModel& model, const BenchOptions& o);

double peak_rss_mb();  // process peak so far
double rss_mb();       // resident now, for growth over a long run

// Sorted wall times of `steps` calls of f after `warmup` untimed ones.
template <typename F>
std::vector<double> time_calls(int warmup, int steps, F&& f) {
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    Stopwatch watch;
    f();
    if (i >= warmup) times.push_back(watch.seconds());
  }
  std::sort(times.begin(), times.end());
  return times;
}

// Wall times of several cases measured in rounds: each round runs every case once, in order, so
// that a drift of the machine's speed (this shared machine's varies by up to 50% within minutes)
// hits every case alike. times[case][round], after `warmup` untimed rounds.
template <typename F>
std::vector<std::vector<double>> time_rounds(size_t cases, int warmup, int rounds, F&& f) {
  std::vector<std::vector<double>> times(cases);
  for (int r = 0; r < warmup + rounds; ++r) {
    for (size_t c = 0; c < cases; ++c) {
      Stopwatch watch;
      f(c);
      if (r >= warmup) times[c].push_back(watch.seconds());
    }
  }
  return times;
}

// Median over rounds of a[r] / b[r]: a ratio of two cases measured in the same rounds.
double paired_ratio(const std::vector<double>& a, const std::vector<double>& b);

// what, model, batch, input_size, budget, dtype, threads, steps.
json common_fields(const std::string& what, const BenchModel& m, const models::ModelSpec& spec,
                   double budget, const std::string& dtype, const BenchOptions& o);

// Matrix-product FLOPs of one forward over `rows` samples (this port's count: Read's shared
// queries projected once), or null for a family without an analytic count.
json forward_flops(const json& config, int64_t rows, double budget);
json rate(const json& flops, double seconds);  // GFLOP/s, null without FLOPs

// One JSON line to stdout and, with --out, appended to that file.
void emit(const json& line, const BenchOptions& o);

void add_shared_options(CLI::App& cmd, BenchOptions& o);

void bench_forward(const BenchOptions& o);
void bench_sample(const BenchOptions& o);
void bench_train(const BenchOptions& o);

}  // namespace elit::app::bench
