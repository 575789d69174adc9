#include "elit/serve/metrics.h"

#include <sstream>

namespace elit::serve {
namespace {

std::string number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

void counter(std::ostringstream& out, const std::string& name, const std::string& help,
             double value, const std::string& type = "counter") {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << number(value) << "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++counts_[i];
      break;
    }
  }
  ++count_;
  sum_ += value;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::ostringstream out;
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << number(bounds_[i]) << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << "\n"
      << name << "_sum " << number(sum_) << "\n"
      << name << "_count " << count_ << "\n";
  return out.str();
}

Metrics::Metrics(std::vector<double> budgets)
    : latency_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      budget_(std::move(budgets)) {}

void Metrics::accepted() {
  std::lock_guard lock(mu_);
  ++accepted_;
}
void Metrics::rejected() {
  std::lock_guard lock(mu_);
  ++rejected_;
}
void Metrics::bad_request() {
  std::lock_guard lock(mu_);
  ++bad_;
}
void Metrics::unauthorized() {
  std::lock_guard lock(mu_);
  ++unauthorized_;
}
void Metrics::failed() {
  std::lock_guard lock(mu_);
  ++failed_;
}

void Metrics::served(const ServedRequest& r) {
  std::lock_guard lock(mu_);
  ++served_;
  if (!r.deadline_met) ++misses_;
  images_ += r.images;
  flops_ += static_cast<double>(r.flops);
  latency_.observe(r.latency_s);
  budget_.observe(r.mean_budget);
}

void Metrics::evaluated(double measured_s, double predicted_s) {
  std::lock_guard lock(mu_);
  forward_s_ += measured_s;
  predicted_s_ += predicted_s;
}

std::string Metrics::render(int64_t queue_depth, int64_t running) const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  counter(out, "elit_requests_accepted_total", "Generation requests admitted to the queue.",
          accepted_);
  counter(out, "elit_requests_served_total", "Generation requests answered with images.", served_);
  counter(out, "elit_requests_rejected_total",
          "Requests refused with 503 (deadline infeasible, queue full or shutting down).",
          rejected_);
  counter(out, "elit_requests_bad_total", "Requests refused with 400 (invalid input).", bad_);
  counter(out, "elit_requests_unauthorized_total", "Requests refused with 401.", unauthorized_);
  counter(out, "elit_requests_failed_total", "Requests that failed inside the server (500).",
          failed_);
  counter(out, "elit_deadline_misses_total", "Served requests that finished after their deadline.",
          misses_);
  counter(out, "elit_images_total", "Images generated.", images_);
  counter(out, "elit_flops_total", "Model FLOPs spent on served requests.", flops_);
  counter(out, "elit_forward_seconds_total", "Time spent in model evaluations.", forward_s_);
  counter(out, "elit_forward_table_seconds_total",
          "What the calibration table predicted for the same evaluations.", predicted_s_);
  counter(out, "elit_queue_depth", "Requests waiting in the queue.", queue_depth, "gauge");
  counter(out, "elit_running_requests", "Requests in the running batch.", running, "gauge");
  out << latency_.render("elit_request_latency_seconds", "Arrival to answer of served requests.");
  out << budget_.render("elit_budget_served", "Mean budget a served request ran at.");
  return out.str();
}

}  // namespace elit::serve
