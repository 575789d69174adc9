// elit budgets: the multi-budget analysis of one checkpoint (published
// elit_multibudget_inference.py): for every valid budget (or a given list) the FLOPs of one
// forward, measured latency per forward and per image, and images from the same noise; a grid
// with one row per budget, a JSON table and budget-vs-FLOPs / budget-vs-latency plots (SVG).
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "elit/io/svg_plot.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"
#include "progress.h"
#include "sampling_cost.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

struct BudgetsOptions {
  SamplingFlags flags;
  std::string budgets = "all";
  int repeats = 5;
};

struct Row {
  double budget = 1;
  int64_t keep = 1, flops = 0, measured_flops = 0, flops_per_image = 0;
  double forward_s = 0, image_s = 0;
  double forward_spread = 0;  // interquartile range / median of the timed rounds
  int timing_rounds = 0;
  int64_t timing_batch = 1;
  nlohmann::json teacache;  // what TeaCache skipped (null when off)
  nlohmann::json to_json(const std::string& source) const {
    return {{"budget", budget},
            {"latents_per_group", keep},
            {"flops_per_forward", flops},
            {"gflops_per_forward", static_cast<double>(flops) / 1e9},
            {"flops_source", source},
            {"flops_per_forward_measured", measured_flops},
            {"flops_per_image", flops_per_image},
            {"latency_per_forward_s", forward_s},
            {"latency_spread", forward_spread},
            {"latency_rounds", timing_rounds},
            {"latency_batch", timing_batch},
            {"latency_per_image_s", image_s},
            {"teacache", teacache}};
  }
};

void write_plots(const std::string& dir, const std::vector<Row>& rows, const std::string& name) {
  const auto batch = rows.empty() ? int64_t{1} : rows.front().timing_batch;
  io::PlotSeries flops{"FLOPs per forward", {}, {}},
      latency{"per forward (batch " + std::to_string(batch) + ")", {}, {}};
  for (const auto& r : rows) {
    flops.x.push_back(r.budget), flops.y.push_back(static_cast<double>(r.flops));
    latency.x.push_back(r.budget), latency.y.push_back(r.forward_s * 1e3);
  }
  write_text(dir + "/budget_vs_flops.svg",
             io::svg_line_plot({flops}, {name + ": budget vs FLOPs",
                                         "inference budget (fraction of latents kept per group)",
                                         "FLOPs per forward"}));
  write_text(dir + "/budget_vs_latency.svg",
             io::svg_line_plot({latency}, {name + ": budget vs latency",
                                           "inference budget (fraction of latents kept per group)",
                                           "milliseconds per forward"}));
}

std::string table(const std::vector<Row>& rows) {
  std::ostringstream out;
  const auto batch = rows.empty() ? int64_t{1} : rows.front().timing_batch;
  out << "| budget | latents/group | GFLOPs/forward (1 image) | ms/forward (batch " << batch
      << ") | spread | s/image |\n"
      << "| ---: | ---: | ---: | ---: | ---: | ---: |\n";
  char line[200];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "| %.4g | %lld | %.4f | %.2f | ±%.0f%% | %.3f |\n", r.budget,
                  static_cast<long long>(r.keep), static_cast<double>(r.flops) / 1e9,
                  r.forward_s * 1e3, 50.0 * r.forward_spread, r.image_s);
    out << line;
  }
  return out.str();
}

// Whether latency per forward rises with the budget (ascending budgets), within the measured
// spread; a table that says otherwise is warned about, since it contradicts the FLOPs.
bool latency_monotone(std::vector<Row> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.budget < b.budget; });
  for (size_t k = 1; k < rows.size(); ++k) {
    const auto& a = rows[k - 1];
    const auto& b = rows[k];
    const double slack = 0.5 * std::max(a.forward_spread, b.forward_spread);
    if (a.budget < b.budget && a.forward_s > b.forward_s * (1 + slack)) return false;
  }
  return true;
}

void run(const BudgetsOptions& o) {
  start_command();
  auto g = o.flags.generate_options();
  const auto grid_t = sampling::time_grid(g.sampler, g.steps);
  check(o.repeats >= 1, "invalid --repeats ", o.repeats, ": must be at least 1");
  const auto m = load_model(o.flags);
  o.flags.apply_teacache(g, m);
  const auto budgets = parse_budget_list(o.budgets, m.spec);
  const auto labels = class_labels(o.flags, m.spec);
  const auto cond = m.model->condition_for_labels(labels);
  const int64_t n = labels.size(0), batches = (n + g.batch_size - 1) / g.batch_size;
  ForwardCosts costs(m);
  // Latency at the batch generation runs, every budget warmed up, interleaved rounds.
  const int64_t timing_batch = std::min<int64_t>(g.batch_size, n);
  note("timing every budget at batch " + std::to_string(timing_batch) + " (" +
       std::to_string(o.repeats) + "+ interleaved rounds after a warm-up)");
  const auto timings = costs.time_budgets(budgets, timing_batch, o.repeats, 4 * o.repeats);
  std::vector<Row> rows;
  std::vector<torch::Tensor> images;
  Progress bar("budgets", static_cast<int64_t>(budgets.size()) * batches * g.steps, "step");
  for (size_t k = 0; k < budgets.size(); ++k) {
    Row r;
    r.budget = budgets[k];
    r.keep = m.model->keep_for_budget(r.budget);
    r.flops = costs.flops(r.budget);
    r.measured_flops = costs.measured_flops(r.budget);
    r.forward_s = timings[k].median_s;
    r.forward_spread = timings[k].spread;
    r.timing_rounds = timings[k].rounds;
    r.timing_batch = timing_batch;
    g.options.budget = sampling::BudgetSchedule::constant(r.budget);
    r.flops_per_image = sampling::sampling_flops_per_image(
        g.sampler, grid_t, g.options, [&](double b) { return costs.flops(b); });
    if (g.options.teacache) g.options.teacache_log = std::make_shared<sampling::TeaCacheLog>();
    const Stopwatch watch;
    images.push_back(sampling::generate(
        *m.model, cond, g, [&](int64_t done, int64_t, const sampling::StepInfo& s) {
          bar.update((k * batches + done / g.batch_size) * g.steps + s.step + 1,
                     {{"budget", format_value(r.budget)}});
        }));
    r.image_s = watch.seconds() / static_cast<double>(n);
    r.teacache = teacache_report(g, m);
    rows.push_back(r);
  }
  bar.finish();
  const std::string& dir = o.flags.out;
  nlohmann::json results = nlohmann::json::array();
  std::vector<std::string> row_labels, column_labels;
  for (const auto& r : rows) {
    results.push_back(r.to_json(costs.source()));
    row_labels.push_back("b=" + format_value(r.budget) + "  " +
                         io::short_number(static_cast<double>(r.flops)) + "FLOPs");
  }
  for (int64_t i = 0; i < n; ++i) column_labels.push_back(m.class_name(labels[i].item<int64_t>()));
  const nlohmann::json report = {{"model", m.spec.name},
                                 {"checkpoint", m.file.source},
                                 {"sampler", o.flags.sampler},
                                 {"steps", g.steps},
                                 {"cfg_scale", g.options.guidance.scale},
                                 {"seed", g.seed},
                                 {"labels", column_labels},
                                 {"device", o.flags.device},
                                 {"dtype", o.flags.dtype},
                                 {"budgets", results},
                                 {"latency_monotone", latency_monotone(rows)}};
  write_text(dir + "/results.json", report.dump(2) + "\n");
  write_text(dir + "/table.md", table(rows));
  write_plots(dir, rows, m.spec.name);
  const auto all = torch::cat(images, 0);  // [budgets * n, C, H, W], one row per budget
  if (!write_labelled_grid(dir + "/grid.png", dir + "/grid.svg", all, m, n, row_labels,
                           column_labels, m.spec.name + ": one row per budget, same noise")) {
    write_samples(dir, all, m, n, /*individual_pngs=*/false);
  }
  if (!quiet()) std::fprintf(stderr, "%s", table(rows).c_str());
  if (!latency_monotone(rows)) {
    note(
        "warning: latency does not rise with the budget beyond the measured spread (a busy "
        "machine, or a model too small for the budget to matter); rerun with more --repeats");
  }
  note("wrote " + dir + "/{grid.png, grid.svg, results.json, table.md, budget_vs_flops.svg, " +
       "budget_vs_latency.svg}");
}

}  // namespace

void add_budgets_command(CLI::App& app) {
  auto o = std::make_shared<BudgetsOptions>();
  auto* cmd = app.add_subcommand(
      "budgets",
      "multi-budget analysis: FLOPs, latency and images (same noise) at every budget; "
      "grid, JSON table and SVG plots");
  o->flags.add_to(*cmd, "budgets");
  cmd->add_option("--budgets", o->budgets,
                  "budgets to evaluate, e.g. 0.25,0.5,1, or 'all' (every valid budget k/T)")
      ->capture_default_str();
  cmd->add_option("--repeats", o->repeats,
                  "timed rounds per budget at least (median; up to 4x more until the "
                  "interquartile spread is under 10%)")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
