// elit bench: machine-readable measurements, one JSON object per line on stdout (and --out).
// Modes are sub-commands over shared options (models, batch, budgets, dtype, repeats, and any
// model-configuration key as --key value):
//   forward  an inference forward per budget, against the float32/bfloat16 matmul peak measured
//            in the same process, with time and FLOPs ratios to budget 1 (bench_inference.cpp);
//            budgets are interleaved in rounds so that the ratios survive speed drifts
//   train    full training updates: forward + backward + clipping + AdamW + EMA (bench_train.cpp)
//   sample   one sampling step (a guided velocity) per guidance mode: none, CFG, cheap CFG
#include "bench_common.h"
#include "cli_common.h"
#include "commands.h"

namespace elit::app {
namespace {
using bench::BenchOptions;

// Registers a mode whose callback parses the extra --key value pairs first.
template <typename Run>
CLI::App* add_mode(CLI::App& bench, const std::string& name, const std::string& help,
                   std::shared_ptr<BenchOptions> opts, Run run) {
  auto* cmd = bench.add_subcommand(name, help);
  bench::add_shared_options(*cmd, *opts);
  cmd->callback([cmd, opts, run] {
    opts->overrides = bench::parse_model_overrides(cmd->remaining());
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
      "time an inference forward per budget, in --steps rounds of one forward per budget and\n"
      "one matmul-peak sample (a drift of the machine's speed then hits all alike). Fields:\n"
      "what, model, batch, input_size, budget, dtype, threads, steps, median_s, min_s,\n"
      "images_per_s, flops (matrix products, this port's count), gflops_per_s,\n"
      "matmul_peak_gflops_per_s (median over rounds of a 1536^3 matmul in this process, same\n"
      "dtype), peak_fraction, time_ratio (median of the per-round time(b)/time(1)), flops_ratio,\n"
      "time_over_flops_ratio, rel_err_vs_float32 (bf16), peak_rss_mb",
      forward_opts, bench::bench_forward);
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
      train_opts, bench::bench_train);
  train_opts->dist.add_to(*train, /*default_timeout_s=*/300);
  train
      ->add_option("--ddp-bucket-mb", train_opts->ddp_bucket_mb,
                   "with --nproc: gradient all-reduce buckets of this many MB, reduced while "
                   "backward runs; 0: one all-reduce after backward")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  train->add_option("--rank-results", train_opts->rank_results)->group("");  // internal
  auto sample_opts = std::make_shared<BenchOptions>();
  auto* sample = add_mode(
      *bench, "sample",
      "time one sampling step (a guided velocity at t = 0.5) per guidance mode: none, cfg (both\n"
      "branches batched into one forward at the budget), cfg_two_forwards (the same CFG as two\n"
      "forwards), ccfg (unconditional branch at --uncond-budget), in --steps rounds of one step\n"
      "per mode. Fields: what, model, batch, input_size, budget, dtype, guidance, cfg_scale,\n"
      "uncond_budget, forwards, median_s, min_s, flops, gflops_per_s, time_vs_cfg (median of\n"
      "the per-round ratios to cfg), rss_growth_mb (over the timed rounds), peak_rss_mb",
      sample_opts, bench::bench_sample);
  sample->add_option("--cfg-scale", sample_opts->cfg_scale, "guidance scale")
      ->capture_default_str();
  sample->add_option("--uncond-budget", sample_opts->uncond_budget,
                     "cheap CFG: the unconditional branch's budget (default 1/T, the smallest)");
}

}  // namespace elit::app
