// elit loadtest: open-loop Poisson load against an `elit serve` on this machine, with a JSON
// report (latency percentiles, deadline fraction, rejections, budget served, throughput, FLOPs,
// and the server's forward time against its calibration table).
#include <cmath>
#include <iostream>

#include "commands.h"
#include "elit/io/npz.h"
#include "elit/runtime/error.h"
#include "elit/serve/load_generator.h"
#include "progress.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

struct LoadtestOptions {
  serve::LoadOptions load;
  std::string out, samples_out;
};

void run(const LoadtestOptions& o) {
  start_command();
  auto load = o.load;
  load.keep_images = !o.samples_out.empty();
  Progress bar("loadtest", static_cast<int64_t>(std::ceil(load.rate * load.duration_s)), "req");
  const auto result = serve::run_load(load, [&](int64_t sent, int64_t finished) {
    bar.update(
        std::min<int64_t>(sent, static_cast<int64_t>(std::ceil(load.rate * load.duration_s))),
        {{"done", std::to_string(finished)}});
  });
  bar.finish();
  auto report = result.report();
  report["url"] = load.url;
  report["duration_s"] = load.duration_s;
  report["deadline_ms"] = load.deadline_ms;
  report["seed"] = load.seed;
  if (load.keep_images && result.images.defined()) {
    io::write_npz(o.samples_out, {{"arr_0", result.images}, {"arr_1", result.labels}});
    report["samples"] = o.samples_out;
  }
  std::cout << report.dump(2) << std::endl;
  if (!o.out.empty()) {
    write_text(o.out, report.dump(2) + "\n");
    note("report -> " + o.out);
  }
}

}  // namespace

void add_loadtest_command(CLI::App& app) {
  auto o = std::make_shared<LoadtestOptions>();
  auto* cmd = app.add_subcommand(
      "loadtest",
      "send open-loop Poisson load to an `elit serve` on this machine and report p50/p95/p99 "
      "latency, the fraction of deadlines met, rejections (503), the mean budget served, "
      "throughput and FLOPs as JSON, with the server's own view from its /metrics: seconds "
      "spent in forwards, what its calibration table predicted for them (time_over_table > 1: "
      "the machine ran slower than calibrated) and the worker's busy fraction. Arrivals do not "
      "wait for answers (open loop), so an overloaded server shows as queueing and "
      "rejections.\n"
      "  elit loadtest --url http://127.0.0.1:8080 --rate 4 --duration 30 --deadline-ms 1500");
  cmd->add_option("--url", o->load.url, "server (loopback only)")->capture_default_str();
  cmd->add_option("--rate", o->load.rate, "mean requests per second")->required();
  cmd->add_option("--duration", o->load.duration_s, "seconds of arrivals")->required();
  cmd->add_option("--deadline-ms", o->load.deadline_ms, "deadline of every request (0: none)")
      ->capture_default_str();
  cmd->add_option("--seed", o->load.seed, "arrival times, classes and image seeds")
      ->capture_default_str();
  cmd->add_option("--steps", o->load.steps, "sampling steps per request (0: server default)")
      ->capture_default_str();
  cmd->add_option("--classes", o->load.num_classes, "requests cycle through classes 0..N-1")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--max-requests", o->load.max_requests, "stop sending after this many")
      ->capture_default_str();
  cmd->add_option("--api-key", o->load.api_key, "the server's --api-key");
  cmd->add_option("--out", o->out, "write the JSON report here too");
  cmd->add_option("--samples-out", o->samples_out,
                  "write the served images as an ADM .npz (for elit eval --samples)");
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
