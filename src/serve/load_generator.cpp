#include "elit/serve/load_generator.h"

#include <httplib.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <mutex>
#include <random>
#include <regex>
#include <string_view>
#include <thread>

#include "elit/io/image.h"
#include "elit/runtime/error.h"
#include "elit/serve/encoding.h"

namespace elit::serve {
namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Target {
  std::string host;
  int port = 80;
};

Target loopback_target(const std::string& url) {
  std::smatch m;
  static const std::regex pattern(R"(^http://(127\.0\.0\.1|localhost|\[::1\])(:(\d{1,5}))?/?$)");
  check(std::regex_match(url, m, pattern), "--url '", url,
        "': the load generator only sends to this machine (http://127.0.0.1:PORT, "
        "http://localhost:PORT or http://[::1]:PORT)");
  Target t;
  t.host = m[1] == "[::1]" ? "::1" : m[1].str();
  if (m[3].matched) t.port = std::stoi(m[3]);
  return t;
}

// One request's outcome.
struct Outcome {
  int status = -1;
  double latency_ms = 0;
  json body;
};

// The server's evaluation totals (elit_forward_seconds_total, elit_forward_table_seconds_total),
// both NaN when /metrics does not answer with them.
std::pair<double, double> forward_totals(const Target& target, const httplib::Headers& headers) {
  httplib::Client c(target.host, target.port);
  c.set_connection_timeout(10, 0);
  c.set_read_timeout(10, 0);
  const auto res = c.Get("/metrics", headers);
  const double none = std::nan("");
  if (!res || res->status != 200) return {none, none};
  const auto forward = prometheus_value(res->body, "elit_forward_seconds_total");
  const auto table = prometheus_value(res->body, "elit_forward_table_seconds_total");
  if (!forward || !table) return {none, none};
  return {*forward, *table};
}

}  // namespace

std::optional<double> prometheus_value(const std::string& text, const std::string& name) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ' ') {
      const std::string value(line.substr(name.size() + 1));
      char* stop = nullptr;
      const double v = std::strtod(value.c_str(), &stop);
      if (stop == value.c_str() || !std::isfinite(v)) return std::nullopt;
      return v;
    }
    at = end + 1;
  }
  return std::nullopt;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

json LoadResult::report() const {
  const auto or_null = [](double x) { return std::isnan(x) ? json(nullptr) : json(x); };
  const double accepted = static_cast<double>(served + failed);
  // Negative differences: the server restarted during the run; its totals say nothing then.
  const bool timed = server_forward_s >= 0 && server_table_s > 0 && wall_s > 0;
  const json server = timed ? json{{"forward_seconds", server_forward_s},
                                   {"table_seconds", server_table_s},
                                   {"time_over_table", server_forward_s / server_table_s},
                                   {"busy_fraction", server_forward_s / wall_s}}
                            : json(nullptr);
  return {{"offered_rate", offered_rate},
          {"sent", sent},
          {"served", served},
          {"rejected", rejected},
          {"failed", failed},
          {"rejected_fraction", sent ? static_cast<double>(rejected) / sent : 0.0},
          {"latency_ms",
           {{"p50", or_null(percentile(latency_ms, 50))},
            {"p95", or_null(percentile(latency_ms, 95))},
            {"p99", or_null(percentile(latency_ms, 99))}}},
          {"deadline_met_fraction", accepted > 0 ? deadline_met / accepted : 0.0},
          {"mean_budget", served ? budget_sum / served : 0.0},
          {"full_budget_fraction", served ? static_cast<double>(budget_full) / served : 0.0},
          {"throughput_rps", wall_s > 0 ? served / wall_s : 0.0},
          {"flops_total", flops},
          {"flops_per_second", wall_s > 0 ? flops / wall_s : 0.0},
          {"wall_s", wall_s},
          {"server", server}};
}

LoadResult run_load(const LoadOptions& o, const std::function<void(int64_t, int64_t)>& on_tick) {
  const auto target = loopback_target(o.url);
  check(o.rate > 0 && o.rate <= 1000, "--rate ", o.rate, " must be in (0, 1000] requests/s");
  check(o.duration_s > 0 && o.duration_s <= 3600, "--duration ", o.duration_s,
        " must be in (0, 3600] seconds");
  check(o.max_requests >= 1, "--max-requests must be at least 1");
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> gap(o.rate);
  std::vector<std::future<Outcome>> futures;
  std::vector<int64_t> labels;
  std::atomic<int64_t> finished{0};
  httplib::Headers headers;
  if (!o.api_key.empty()) headers.emplace("Authorization", "Bearer " + o.api_key);
  const auto totals_before = forward_totals(target, headers);
  const auto start = Clock::now();
  double at = gap(rng);
  for (int64_t i = 0; at < o.duration_s && i < o.max_requests; ++i, at += gap(rng)) {
    std::this_thread::sleep_until(
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at)));
    json body{{"class", i % o.num_classes}, {"seed", o.seed * 1000003 + i}};
    if (o.steps > 0) body["steps"] = o.steps;
    if (o.deadline_ms > 0) body["deadline_ms"] = o.deadline_ms;
    labels.push_back(i % o.num_classes);
    futures.push_back(std::async(std::launch::async, [&, body] {
      httplib::Client c(target.host, target.port);
      c.set_connection_timeout(60, 0);  // httplib's listen backlog is 5: bursts retry SYNs
      c.set_read_timeout(static_cast<time_t>(o.duration_s) + 120, 0);
      const auto sent = Clock::now();
      const auto res = c.Post("/v1/generate", headers, body.dump(), "application/json");
      Outcome out;
      out.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
      if (res) {
        out.status = res->status;
        if (res->status == 200) out.body = json::parse(res->body, nullptr, false);
      }
      ++finished;
      return out;
    }));
    if (on_tick) on_tick(static_cast<int64_t>(futures.size()), finished);
  }
  LoadResult r;
  r.offered_rate = o.rate;
  r.sent = static_cast<int64_t>(futures.size());
  std::vector<torch::Tensor> images;
  std::vector<int64_t> kept_labels;
  for (size_t i = 0; i < futures.size(); ++i) {
    auto out = futures[i].get();
    if (on_tick) on_tick(r.sent, finished);
    if (out.status == 503) {
      ++r.rejected;
      continue;
    }
    if (out.status != 200 || !out.body.is_object()) {
      ++r.failed;
      continue;
    }
    ++r.served;
    r.latency_ms.push_back(out.latency_ms);
    r.deadline_met += out.body.value("deadline_met", false);
    const double mean = out.body["budget"].value("mean", 0.0);
    r.budget_sum += mean;
    r.budget_full += out.body["budget"].value("min", 0.0) >= 1.0 - 1e-9;
    r.flops += out.body.value("flops", 0.0);
    if (o.keep_images) {
      for (const auto& b64 : out.body["images"]) {
        images.push_back(io::decode_image(base64_decode(b64.get<std::string>()), "answer"));
        kept_labels.push_back(labels[i]);
      }
    }
  }
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const auto totals_after = forward_totals(target, headers);
  r.server_forward_s = totals_after.first - totals_before.first;
  r.server_table_s = totals_after.second - totals_before.second;
  if (!images.empty()) {
    r.images = torch::stack(images);
    r.labels = torch::tensor(kept_labels, torch::kInt64);
  }
  return r;
}

}  // namespace elit::serve
