#include "elit/serve/calibration.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/cpu.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"

namespace elit::serve {
namespace fs = std::filesystem;
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 1);
  }
  return "unknown";
}

// FNV-1a: a stable file name for a key (std::hash may differ between library versions).
std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::optional<CostTable> load_cached(const std::string& path, const nlohmann::json& key) {
  if (!fs::exists(path)) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(read_file(path));
    if (j.at("key") != key) return std::nullopt;
    return CostTable::from_json(j.at("table"));
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged cache entry is measured again
  }
}

// Rounds continue past options.repeats until every cell's spread is within 10%, up to this.
int max_calibration_rounds(const CalibrationOptions& options) {
  return 4 * options.repeats;
}

}  // namespace

int64_t calibration_progress_total(const CalibrationOptions& options) {
  return max_calibration_rounds(options) +
         (options.decode ? static_cast<int64_t>(calibration_rows(options.max_rows).size()) : 0);
}

std::vector<int64_t> calibration_rows(int64_t max_rows) {
  check(max_rows >= 1, "calibration needs max_rows >= 1, got ", max_rows);
  std::vector<int64_t> rows;
  for (int64_t r = 1; r < max_rows; r *= 2) rows.push_back(r);
  rows.push_back(max_rows);
  return rows;
}

nlohmann::json calibration_key(models::DiffusionModel& model, const nlohmann::json& config,
                               const std::vector<double>& budgets,
                               const CalibrationOptions& options) {
  std::string dtype = "?", device = "cpu";
  for (const auto& p : model.parameters()) {
    dtype = c10::toString(p.scalar_type());
    device = p.device().str();
    break;
  }
  return {{"model", options.model_identity},
          {"config", config},
          {"dtype", dtype},
          {"device", device},
          {"threads", torch::get_num_threads()},
          {"cpu", cpu_model_name()},
          {"budgets", budgets},
          {"rows", calibration_rows(options.max_rows)},
          {"repeats", options.repeats},
          {"method", "interleaved rounds"},
          {"decoder", static_cast<bool>(options.decode)}};
}

CostTable calibrate(sampling::ForwardCosts& costs, models::DiffusionModel& model,
                    const nlohmann::json& config, const std::vector<double>& budgets,
                    const CalibrationOptions& options, bool* from_cache,
                    const std::function<void(int64_t, int64_t)>& on_progress) {
  const auto key = calibration_key(model, config, budgets, options);
  const auto path =
      options.cache_dir.empty()
          ? std::string()
          : (fs::path(options.cache_dir) / (fnv1a_hex(key.dump()) + ".json")).string();
  if (from_cache) *from_cache = false;
  if (!path.empty()) {
    if (auto cached = load_cached(path, key)) {
      if (from_cache) *from_cache = true;
      return *cached;
    }
  }
  CostTable table;
  table.budgets = budgets;
  table.batch_rows = calibration_rows(options.max_rows);
  const int max_rounds = max_calibration_rounds(options);
  const auto total = calibration_progress_total(options);
  // One grid of interleaved rounds: a drift of the machine's speed while measuring hits every
  // budget and batch size alike, so the table's ratios (what the planner trades) stay right.
  const auto grid = costs.time_grid(budgets, table.batch_rows, options.repeats, max_rounds,
                                    /*target_spread=*/0.1, [&](int round) {
                                      if (on_progress) on_progress(round, total);
                                    });
  for (const auto& row : grid) {
    std::vector<double> ms;
    for (const auto& cell : row) ms.push_back(1e3 * cell.median_s);
    table.ms.push_back(ms);
  }
  int64_t done = max_rounds;
  if (on_progress) on_progress(done, total);
  if (options.decode) {
    torch::NoGradGuard no_grad;
    for (int64_t r : table.batch_rows) {
      table.decode_ms.push_back(
          1e3 * median_seconds([&] { options.decode(r); }, /*warmup=*/1, options.repeats));
      if (on_progress) on_progress(++done, total);
    }
  }
  if (!path.empty()) {
    fs::create_directories(options.cache_dir);
    write_file_atomically(path, nlohmann::json{{"key", key}, {"table", table.to_json()}}.dump(1));
  }
  return table;
}

}  // namespace elit::serve
