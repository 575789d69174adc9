#include "elit/serve/cost_table.h"

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit::serve {
namespace {

// Linear interpolation of ms over the measured row counts (extrapolated from the last two).
double interpolate(const std::vector<int64_t>& rows, const std::vector<double>& ms, int64_t n) {
  if (rows.size() == 1) return ms[0] * static_cast<double>(n) / static_cast<double>(rows[0]);
  size_t hi = 1;
  while (hi + 1 < rows.size() && rows[hi] < n) ++hi;
  const size_t lo = hi - 1;
  const double f = static_cast<double>(n - rows[lo]) / static_cast<double>(rows[hi] - rows[lo]);
  return std::max(0.0, ms[lo] + f * (ms[hi] - ms[lo]));
}

}  // namespace

double CostTable::forward_ms(double budget, int64_t rows) const {
  check(!budgets.empty() && !batch_rows.empty(), "the cost table is empty");
  size_t b = 0;
  while (b + 1 < budgets.size() && budgets[b] < budget - 1e-9) ++b;
  return interpolate(batch_rows, ms[b], std::max<int64_t>(rows, 1));
}

double CostTable::evaluation_ms(double budget, int64_t images, bool cfg,
                                std::optional<double> guide_budget) const {
  if (guide_budget) return forward_ms(budget, images) + forward_ms(*guide_budget, images);
  return forward_ms(budget, cfg ? 2 * images : images);
}

CostTable CostTable::scaled(double factor) const {
  CostTable t = *this;
  for (auto& row : t.ms)
    for (double& x : row) x *= factor;
  for (double& x : t.decode_ms) x *= factor;
  return t;
}

double CostTable::decode_batch_ms(int64_t images) const {
  if (decode_ms.empty()) return 0;
  return interpolate(batch_rows, decode_ms, std::max<int64_t>(images, 1));
}

nlohmann::json CostTable::to_json() const {
  return {{"budgets", budgets},
          {"batch_rows", batch_rows},
          {"forward_ms", ms},
          {"decode_ms", decode_ms}};
}

CostTable CostTable::from_json(const nlohmann::json& j) {
  CostTable t;
  try {
    t.budgets = j.at("budgets").get<std::vector<double>>();
    t.batch_rows = j.at("batch_rows").get<std::vector<int64_t>>();
    t.ms = j.at("forward_ms").get<std::vector<std::vector<double>>>();
    if (j.contains("decode_ms")) t.decode_ms = j.at("decode_ms").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    fail("cost table: ", e.what(), " (expected budgets, batch_rows and forward_ms)");
  }
  check(!t.budgets.empty() && !t.batch_rows.empty() && t.ms.size() == t.budgets.size(),
        "cost table: forward_ms needs one row per budget");
  for (const auto& row : t.ms) {
    check(row.size() == t.batch_rows.size(), "cost table: a forward_ms row has ", row.size(),
          " entries for ", t.batch_rows.size(), " batch sizes");
  }
  check(t.decode_ms.empty() || t.decode_ms.size() == t.batch_rows.size(),
        "cost table: decode_ms has ", t.decode_ms.size(), " entries for ", t.batch_rows.size(),
        " batch sizes");
  check(std::is_sorted(t.budgets.begin(), t.budgets.end()) &&
            std::is_sorted(t.batch_rows.begin(), t.batch_rows.end()) && t.batch_rows[0] >= 1,
        "cost table: budgets and batch_rows must ascend");
  return t;
}

}  // namespace elit::serve
