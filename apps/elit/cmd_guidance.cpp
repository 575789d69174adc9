// elit guidance: CFG vs cheap CFG vs autoguidance over several scales (published
// elit_ccfg_inference.py): FLOPs and latency of one guided step, images from the same noise,
// a JSON table, a grid (rows = mode x scale, columns = classes; captions in the PNG and the SVG)
// and bar charts (SVG).
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

struct GuidanceCmdOptions {
  SamplingFlags flags;
  std::string scales = "1,2,3,4,5";  // published default --cfg-scales
  double budget = 1.0;
  std::optional<double> uncond_budget;  // default: the smallest valid budget 1/T
  int repeats = 5;
};

struct Mode {
  std::string name;  // CFG, CCFG, AutoG (published names)
  bool cheap, autoguidance;
};

std::vector<double> parse_scales(const std::string& text) {
  return parse_number_list(text, "--scales", "a guidance scale (a number >= 0)",
                           [](double v) { return v >= 0; });
}

sampling::GuidanceOptions guidance_for(const Mode& mode, double scale, double uncond,
                                       const SamplingFlags& f) {
  sampling::GuidanceOptions g;
  g.scale = scale;
  g.low = f.guidance_low;
  g.high = f.guidance_high;
  if (mode.cheap) g.uncond_budget = uncond;
  g.autoguidance = mode.autoguidance;
  return g;
}

void write_charts(const std::string& dir, const std::vector<double>& scales,
                  const std::vector<Mode>& modes, const nlohmann::json& rows) {
  std::vector<std::string> categories, names;
  std::vector<std::vector<double>> flops(modes.size()), latency(modes.size());
  for (double s : scales) {
    if (s > 1) categories.push_back(format_value(s));
  }
  if (categories.empty()) return;
  for (size_t k = 0; k < modes.size(); ++k) {
    names.push_back(modes[k].name);
    for (const auto& r : rows) {
      if (r["mode"] != modes[k].name || r["cfg_scale"].get<double>() <= 1) continue;
      flops[k].push_back(r["flops_per_step"].get<double>());
      latency[k].push_back(r["latency_per_step_s"].get<double>() * 1e3);
    }
  }
  write_text(dir + "/guidance_flops.svg",
             io::svg_bar_chart(categories, names, flops,
                               {"CFG vs CCFG vs autoguidance: FLOPs per step", "guidance scale",
                                "FLOPs per denoising step (one image)"}));
  write_text(dir + "/guidance_latency.svg",
             io::svg_bar_chart(categories, names, latency,
                               {"CFG vs CCFG vs autoguidance: latency per step", "guidance scale",
                                "milliseconds per denoising step (one image)"}));
}

void run(const GuidanceCmdOptions& o) {
  start_command();
  auto g = o.flags.generate_options();
  const auto scales = parse_scales(o.scales);
  const auto grid_t = sampling::time_grid(g.sampler, g.steps);
  const auto m = load_model(o.flags);
  o.flags.apply_teacache(g, m);
  sampling::check_budget(m.spec, o.budget, "--budget");
  g.options.budget = sampling::BudgetSchedule::constant(o.budget);
  std::vector<Mode> modes = {{"CFG", false, false}};
  double uncond = 1.0;
  if (m.spec.elit) {
    uncond = o.uncond_budget.value_or(1.0 / static_cast<double>(m.spec.tokens_per_group));
    sampling::check_budget(m.spec, uncond, "--uncond-budget");
    modes.push_back({"CCFG", true, false});
    modes.push_back({"AutoG", true, true});
  } else {
    note("model '" + m.spec.name + "' has no latent interface: CFG only");
  }
  const auto labels = class_labels(o.flags, m.spec, /*max_default=*/1);
  const auto cond = m.model->condition_for_labels(labels);
  const int64_t n = labels.size(0);
  ForwardCosts costs(m);
  auto per_row = [&](double b) { return costs.flops(b); };
  nlohmann::json rows = nlohmann::json::array();
  std::vector<torch::Tensor> cells(modes.size() * scales.size());
  Progress bar("guidance", static_cast<int64_t>(modes.size() * scales.size()), "run");
  int64_t done = 0;
  for (size_t c = 0; c < scales.size(); ++c) {
    torch::Tensor unguided;
    for (size_t k = 0; k < modes.size(); ++k) {
      g.options.guidance = guidance_for(modes[k], scales[c], uncond, o.flags);
      g.options.guidance.validate();
      if (g.options.teacache) g.options.teacache_log = std::make_shared<sampling::TeaCacheLog>();
      const Stopwatch watch;
      // Without guidance every mode samples the same thing: draw it once (published: skipped).
      auto images =
          scales[c] <= 1 && unguided.defined() ? unguided : sampling::generate(*m.model, cond, g);
      if (scales[c] <= 1) unguided = images;
      const double seconds = watch.seconds();
      cells[k * scales.size() + c] = images;
      bar.update(++done, {{"mode", modes[k].name}, {"scale", format_value(scales[c])}});
      if (scales[c] <= 1 && k > 0) continue;
      const double t_in = std::clamp(0.5, g.options.guidance.low, g.options.guidance.high);
      rows.push_back(
          {{"cfg_scale", scales[c]},
           {"mode", modes[k].name},
           {"budget", o.budget},
           {"guiding_budget", modes[k].cheap ? uncond : o.budget},
           {"flops_per_step",
            sampling::evaluation_flops(g.options.guidance, t_in, o.budget, per_row)},
           {"flops_per_image",
            sampling::sampling_flops_per_image(g.sampler, grid_t, g.options, per_row)},
           {"latency_per_step_s", costs.step_seconds(g.options.guidance, o.budget, o.repeats)},
           {"latency_per_image_s", seconds / static_cast<double>(n)},
           {"teacache", teacache_report(g, m)}});
    }
  }
  bar.finish();
  const std::string& dir = o.flags.out;
  const nlohmann::json report = {{"model", m.spec.name},
                                 {"checkpoint", m.file.source},
                                 {"sampler", o.flags.sampler},
                                 {"steps", g.steps},
                                 {"budget", o.budget},
                                 {"uncond_budget", uncond},
                                 {"flops_source", costs.source()},
                                 {"seed", g.seed},
                                 {"results", rows}};
  write_text(dir + "/results.json", report.dump(2) + "\n");
  write_charts(dir, scales, modes, rows);
  // Grid: a row per (mode, scale), the unguided row once; a column per sample (class).
  std::vector<torch::Tensor> ordered;
  std::vector<std::string> row_labels, column_labels;
  for (int64_t i = 0; i < n; ++i) column_labels.push_back(m.class_name(labels[i].item<int64_t>()));
  bool unguided_row = false;
  for (size_t k = 0; k < modes.size(); ++k) {
    for (size_t c = 0; c < scales.size(); ++c) {
      if (scales[c] <= 1) {
        if (unguided_row) continue;  // every mode samples the same thing without guidance
        unguided_row = true;
        row_labels.push_back("no guidance");
      } else {
        row_labels.push_back(modes[k].name + " s=" + format_value(scales[c]));
      }
      for (int64_t i = 0; i < n; ++i) ordered.push_back(cells[k * scales.size() + c][i]);
    }
  }
  const auto all = torch::stack(ordered);
  const auto columns = n;
  if (!write_labelled_grid(dir + "/grid.png", dir + "/grid.svg", all, m, columns, row_labels,
                           column_labels, m.spec.name + ": guidance modes x scales, same noise")) {
    write_samples(dir, all, m, columns, /*individual_pngs=*/false);
  }
  for (const auto& r : rows) {
    char line[200];
    std::snprintf(line, sizeof line, "%-6s s=%-4g %10.4f GFLOPs/step  %8.2f ms/step  %.3f s/image",
                  r["mode"].get<std::string>().c_str(), r["cfg_scale"].get<double>(),
                  r["flops_per_step"].get<double>() / 1e9,
                  r["latency_per_step_s"].get<double>() * 1e3,
                  r["latency_per_image_s"].get<double>());
    note(line);
  }
  note("wrote " + dir + "/{grid.png, grid.svg, results.json, guidance_flops.svg, " +
       "guidance_latency.svg}");
}

}  // namespace

void add_guidance_command(CLI::App& app) {
  auto o = std::make_shared<GuidanceCmdOptions>();
  auto* cmd = app.add_subcommand(
      "guidance",
      "CFG vs cheap CFG vs autoguidance over guidance scales: FLOPs and latency per "
      "step, images from the same noise; JSON, grid and SVG charts");
  o->flags.add_to(*cmd, "guidance");
  cmd->remove_option(cmd->get_option("--cfg-scale"));  // --scales instead
  cmd->get_option("--classes")->description("class labels, e.g. 0,3,7, or 'all' (default: 0)");
  cmd->add_option("--scales", o->scales, "guidance scales, comma-separated")->capture_default_str();
  cmd->add_option("--budget", o->budget, "budget of the conditional branch (and of CFG)")
      ->capture_default_str();
  cmd->add_option("--uncond-budget", o->uncond_budget,
                  "budget of the guiding branch for CCFG/autoguidance (default 1/T, the smallest)");
  cmd->add_option("--repeats", o->repeats, "timed steps per setting (median)")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
