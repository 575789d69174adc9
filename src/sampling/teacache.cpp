#include "elit/sampling/teacache.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "elit/metrics/flops.h"
#include "elit/runtime/error.h"
#include "elit/runtime/strict_json.h"

namespace elit::sampling {

double relative_l1(const torch::Tensor& a, const torch::Tensor& b) {
  const auto b64 = b.to(torch::kFloat64);
  const double denominator = b64.abs().mean().item<double>();
  const double numerator = (a.to(torch::kFloat64) - b64).abs().mean().item<double>();
  return denominator > 0 ? numerator / denominator : (numerator > 0 ? INFINITY : 0.0);
}

double evaluate_polynomial(const std::vector<double>& coefficients, double x) {
  double y = 0;
  for (double c : coefficients) y = y * x + c;  // Horner, highest degree first
  return y;
}

TeaCacheFit fit_rescale_polynomial(const std::vector<double>& x, const std::vector<double>& y,
                                   int degree) {
  check(degree >= 0 && degree <= 8, "polynomial degree ", degree, " is not in 0..8");
  check(x.size() == y.size(), "fit: ", x.size(), " x values for ", y.size(), " y values");
  const auto n = static_cast<int64_t>(x.size());
  check(n >= degree + 1, "a degree-", degree, " fit needs at least ", degree + 1,
        " step pairs, got ", n, ": calibrate with more images or steps");
  auto opts = torch::dtype(torch::kFloat64);
  const auto xs = torch::tensor(x, opts), ys = torch::tensor(y, opts);
  // Columns x^degree .. x^0 (np.polyfit's Vandermonde), each scaled to unit norm for
  // conditioning, as np.polyfit does.
  auto vander = torch::stack(
      [&] {
        std::vector<torch::Tensor> cols;
        for (int p = degree; p >= 0; --p) cols.push_back(xs.pow(p));
        return cols;
      }(),
      1);
  auto scale = vander.norm(2, {0}).clamp_min(1e-300);
  auto solution = std::get<0>(torch::linalg_lstsq(vander / scale, ys.unsqueeze(1))).squeeze(1);
  auto coefficients = solution / scale;
  TeaCacheFit fit;
  fit.points = n;
  fit.coefficients.assign(coefficients.data_ptr<double>(),
                          coefficients.data_ptr<double>() + coefficients.numel());
  const auto predicted = vander.matmul(coefficients);
  const double ss_res = (ys - predicted).pow(2).sum().item<double>();
  const double ss_tot = (ys - ys.mean()).pow(2).sum().item<double>();
  fit.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  return fit;
}

nlohmann::json TeaCacheCalibration::to_json() const {
  nlohmann::json fits_json = nlohmann::json::array();
  for (const auto& f : fits) {
    fits_json.push_back({{"budget", f.budget},
                         {"coefficients", f.coefficients},
                         {"points", f.points},
                         {"r2", f.r2}});
  }
  return {{"span", models::cached_span_name(span)}, {"fits", fits_json}};
}

TeaCacheCalibration TeaCacheCalibration::from_json(const nlohmann::json& j,
                                                   const std::string& where) {
  check(j.is_object(), where, ": TeaCache calibration must be a JSON object");
  check(j.contains("span") && j["span"].is_string(), where,
        ": TeaCache calibration needs \"span\" (\"core\" or \"interface\")");
  check(j.contains("fits") && j["fits"].is_array(), where,
        ": TeaCache calibration needs a \"fits\" array");
  TeaCacheCalibration c;
  c.span = models::parse_cached_span(j["span"].get<std::string>());
  for (const auto& f : j["fits"]) {
    check(f.is_object() && f.contains("budget") && f["budget"].is_number() &&
              f.contains("coefficients") && f["coefficients"].is_array(),
          where, ": each TeaCache fit needs a numeric \"budget\" and a \"coefficients\" array");
    TeaCacheFit fit;
    fit.budget = f["budget"].get<double>();
    check(std::isfinite(fit.budget) && fit.budget > 0, where, ": TeaCache fit budget ", fit.budget,
          " is not a positive number");
    const auto& coefficients = f["coefficients"];
    check(!coefficients.empty() && coefficients.size() <= 9, where, ": TeaCache fit at budget ",
          fit.budget, " has ", coefficients.size(), " coefficients (expected 1..9)");
    for (const auto& v : coefficients) {
      check(v.is_number() && std::isfinite(v.get<double>()), where,
            ": TeaCache coefficients must be finite numbers");
      fit.coefficients.push_back(v.get<double>());
    }
    if (f.contains("points") && f["points"].is_number_integer()) fit.points = f["points"];
    if (f.contains("r2") && f["r2"].is_number()) fit.r2 = f["r2"];
    c.fits.push_back(std::move(fit));
  }
  return c;
}

const TeaCacheFit* TeaCacheCalibration::fit_for(double budget) const {
  const TeaCacheFit* best = nullptr;
  for (const auto& f : fits) {
    if (!best || std::abs(f.budget - budget) < std::abs(best->budget - budget)) best = &f;
  }
  return best;
}

TeaCacheCalibration calibration_from_metadata(const std::map<std::string, std::string>& metadata,
                                              const std::string& where) {
  const auto it = metadata.find(kTeaCacheKey);
  if (it == metadata.end()) return {};
  const auto ctx = where + ": " + kTeaCacheKey;
  return TeaCacheCalibration::from_json(
      parse_json_strictly(it->second.begin(), it->second.end(), ctx), ctx);
}

TeaCacheOptions TeaCacheOptions::for_model(double threshold, const std::string& span,
                                           const std::map<std::string, std::string>& metadata,
                                           const std::string& where) {
  TeaCacheOptions o;
  o.threshold = threshold;
  o.calibration = calibration_from_metadata(metadata, where);
  o.span = span.empty() ? o.calibration.span : models::parse_cached_span(span);
  if (o.calibration.span != o.span) o.calibration.fits.clear();
  o.validate();
  return o;
}

std::string TeaCacheOptions::describe() const {
  std::ostringstream out;
  out << "threshold " << threshold << ", span " << models::cached_span_name(span) << ", ";
  if (calibration.fits.empty()) {
    out << "uncalibrated for this span (the raw change accumulates; `elit teacache calibrate` "
           "fits one)";
  } else {
    out << "calibrated at budgets";
    for (const auto& f : calibration.fits) out << " " << f.budget;
  }
  return out.str();
}

void TeaCacheOptions::validate() const {
  check(std::isfinite(threshold) && threshold >= 0, "invalid --teacache threshold ", threshold,
        ": must be a finite number >= 0 (0 turns the cache off; TeaCache uses ~0.05-0.6)");
}

int64_t TeaCacheLog::skipped() const {
  int64_t n = 0;
  for (const auto& e : events) n += e.skipped ? 1 : 0;
  return n;
}

nlohmann::json TeaCacheSummary::to_json() const {
  return {{"evaluations", evaluations},
          {"skipped", skipped},
          {"skipped_fraction", evaluations ? double(skipped) / double(evaluations) : 0.0},
          {"flops", flops},
          {"flops_saved", flops_saved},
          {"flops_saved_fraction", flops > 0 ? flops_saved / flops : 0.0}};
}

TeaCacheSummary summarize(const TeaCacheLog& log, const nlohmann::json& model_config,
                          models::CachedSpan span) {
  TeaCacheSummary s;
  s.evaluations = log.evaluations();
  s.skipped = log.skipped();
  if (!metrics::has_analytic_flops(model_config)) return s;
  std::map<double, std::pair<double, double>> per_row;  // budget -> (forward, span) FLOPs
  for (const auto& e : log.events) {
    auto it = per_row.find(e.budget);
    if (it == per_row.end()) {
      metrics::ForwardFlopsOptions o;
      o.budget = e.budget;
      const auto f = metrics::analytic_forward_flops(model_config, o);
      // Read always runs (it makes the signal); a plain SiT caches all of its blocks.
      const double cached = f.get("core") == 0 ? double(f.get("spatial_blocks"))
                            : span == models::CachedSpan::core
                                ? double(f.get("core"))
                                : double(f.get("core") + f.get("write"));
      it = per_row.emplace(e.budget, std::make_pair(double(f.total()), cached)).first;
    }
    s.flops += double(e.rows) * it->second.first;
    if (e.skipped) s.flops_saved += double(e.rows) * it->second.second;
  }
  return s;
}

TeaCache::TeaCache(TeaCacheOptions options, std::shared_ptr<TeaCacheLog> log)
    : options_(std::move(options)), log_(std::move(log)) {
  options_.validate();
  if (!log_) log_ = std::make_shared<TeaCacheLog>();
}

void TeaCache::begin_step(int64_t step, int64_t steps) {
  step_ = step;
  steps_ = steps;
}

torch::Tensor TeaCache::Forward::run(const torch::Tensor& signal, const torch::Tensor& input,
                                     const Compute& compute) {
  auto& o = owner_.options_;
  const int64_t B = input.size(0), k = static_cast<int64_t>(branches_.size());
  check(k >= 1 && B % k == 0 && signal.size(0) == B, "TeaCache: ", B,
        " rows do not split evenly over ", k, " branches");
  const int64_t rows = B / k;
  const bool edge_step = owner_.step_ == 0 || owner_.step_ == owner_.steps_ - 1;
  std::vector<bool> skip(k, false);
  std::vector<double> signal_change(k, -1.0);  // recorded (calibration) when comparable
  for (int64_t j = 0; j < k; ++j) {
    auto& state = owner_.states_[branches_[j].id];
    const double budget = branches_[j].budget;
    const auto sig = signal.narrow(0, j * rows, rows);
    const bool comparable = state.previous_signal.defined() &&
                            state.previous_signal.sizes() == sig.sizes() &&
                            state.previous_budget == budget;
    const bool reusable = state.residual.defined() && state.residual_budget == budget &&
                          state.residual.size(0) == rows &&
                          state.residual.sizes().slice(1) == input.sizes().slice(1);
    if (!edge_step && o.threshold > 0 && !o.record && comparable && reusable) {
      const auto* fit = o.calibration.fit_for(budget);
      const double change = relative_l1(sig, state.previous_signal);
      // A fitted quartic can dip below zero between its data points; a change is never
      // negative, and a negative one would let the cache skip to the last step (measured:
      // cheap CFG's 1/4-budget branch with the main job's fit).
      state.accumulated +=
          fit ? std::max(0.0, evaluate_polynomial(fit->coefficients, change)) : change;
      skip[j] = state.accumulated < o.threshold;
    }
    if (o.record && comparable) signal_change[j] = relative_l1(sig, state.previous_signal);
    if (!skip[j]) state.accumulated = 0;
    state.previous_signal = sig;
    state.previous_budget = budget;
    owner_.log_->events.push_back({owner_.step_, branches_[j].id, budget, rows, skip[j]});
  }
  // Every branch computes: one call over all rows (bit for bit the uncached forward).
  bool all = true;
  for (bool s : skip) all = all && !s;
  torch::Tensor whole;
  if (all) whole = compute(0, B, input);
  std::vector<torch::Tensor> parts;
  for (int64_t j = 0; j < k; ++j) {
    auto& state = owner_.states_[branches_[j].id];
    const auto in = input.narrow(0, j * rows, rows);
    if (skip[j]) {
      parts.push_back(in + state.residual);
      continue;
    }
    auto out = all ? whole.narrow(0, j * rows, rows) : compute(j * rows, rows, in);
    if (o.record) {
      if (signal_change[j] >= 0 && state.previous_output.defined() &&
          state.previous_output.sizes() == out.sizes()) {
        owner_.log_->observations.push_back(
            {branches_[j].budget, signal_change[j], relative_l1(out, state.previous_output)});
      }
      state.previous_output = out;
    }
    state.residual = out - in;
    state.residual_budget = branches_[j].budget;
    parts.push_back(out);
  }
  return all ? whole : torch::cat(parts, 0);
}

}  // namespace elit::sampling
