// The server's counters and histograms, rendered in the Prometheus text format (GET /metrics).
// Thread-safe.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace elit::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending; +Inf is implied
  void observe(double value);
  // `name`_bucket{le=...}, `name`_sum, `name`_count lines.
  std::string render(const std::string& name, const std::string& help) const;
  int64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bound, not cumulative
  int64_t count_ = 0;
  double sum_ = 0;
};

struct ServedRequest {
  double latency_s = 0;
  double mean_budget = 1;
  int64_t images = 0;
  int64_t flops = 0;
  bool deadline_met = true;
};

class Metrics {
 public:
  explicit Metrics(std::vector<double> budgets);
  void accepted();
  void rejected();      // 503: infeasible deadline, full queue or shutting down
  void bad_request();   // 400
  void unauthorized();  // 401
  void failed();        // 500
  void served(const ServedRequest& r);
  // One model evaluation: how long it took and what the calibration table predicted for it.
  // Their totals' ratio over a stretch of time is how much slower (or faster) than calibrated
  // the machine ran then (elit loadtest reports it).
  void evaluated(double measured_s, double predicted_s);
  // The whole exposition; `queue_depth` and `running` are read by the caller under its lock.
  std::string render(int64_t queue_depth, int64_t running) const;

 private:
  mutable std::mutex mu_;
  int64_t accepted_ = 0, rejected_ = 0, bad_ = 0, unauthorized_ = 0, failed_ = 0;
  int64_t served_ = 0, misses_ = 0, images_ = 0;
  double flops_ = 0;
  double forward_s_ = 0, predicted_s_ = 0;
  Histogram latency_, budget_;
};

}  // namespace elit::serve
