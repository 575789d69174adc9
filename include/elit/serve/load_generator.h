// An open-loop load generator for `elit serve` (elit loadtest): Poisson arrivals at a rate,
// bounded in count and time, to a server on this machine only; every request records what the
// server answered so that a report gives latency percentiles, the deadline fraction, rejections,
// the budget served, throughput and FLOPs. Optionally keeps the served images for `elit eval`.
#pragma once
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace elit::serve {

struct LoadOptions {
  std::string url = "http://127.0.0.1:8080";
  double rate = 1.0;         // requests per second (mean of the Poisson process)
  double duration_s = 10;    // arrivals stop after this
  double deadline_ms = 0;    // 0: requests carry no deadline
  uint64_t seed = 0;         // arrivals, classes and image seeds
  int64_t steps = 0;         // 0: the server's default
  int64_t num_classes = 10;  // classes cycle through 0..n-1
  int64_t max_requests = 10000;
  std::string api_key;
  bool keep_images = false;
};

struct LoadResult {
  double offered_rate = 0;
  int64_t sent = 0, served = 0, rejected = 0, failed = 0;
  std::vector<double> latency_ms;  // client-side, served requests
  int64_t deadline_met = 0;        // of the served
  double budget_sum = 0;           // of the served
  int64_t budget_full = 0;         // served entirely at budget 1
  double flops = 0;
  double wall_s = 0;
  // The server's model evaluations during the run (from /metrics before and after; NaN when it
  // does not say): seconds spent, and what its calibration table predicted for them.
  double server_forward_s = std::nan(""), server_table_s = std::nan("");
  torch::Tensor images;  // [served, H, W, C] uint8 when kept
  torch::Tensor labels;  // [served] int64

  nlohmann::json report() const;
};

// Throws elit::Error for a URL that is not http on this machine (127.0.0.1, localhost, ::1),
// and for a rate, duration or count out of range. `on_tick(sent, finished)` reports progress.
LoadResult run_load(const LoadOptions& options,
                    const std::function<void(int64_t, int64_t)>& on_tick = {});

// The value of an unlabelled sample `name` in a Prometheus text exposition; nullopt when it is
// absent or not a finite number.
std::optional<double> prometheus_value(const std::string& text, const std::string& name);

// The p-th percentile (0..100, linear interpolation) of values; NaN when empty.
double percentile(std::vector<double> values, double p);

}  // namespace elit::serve
