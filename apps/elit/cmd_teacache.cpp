// elit teacache calibrate: fits TeaCache's rescaling polynomial for one model, as TeaCache does
// (np.polyfit over recorded step pairs): sample with the cache recording, never skipping; for
// every pair of consecutive evaluations of a branch take the relative L1 change of the signal (the
// first cached block's modulated input) and of the cached span's output; fit output change
// against signal change per budget. The fits are stored in the model file (metadata
// "elit.teacache"), where `--teacache` finds them.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "elit/io/checkpoint_path.h"
#include "elit/io/svg_plot.h"
#include "elit/runtime/error.h"
#include "elit/sampling/teacache.h"
#include "progress.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {
namespace fs = std::filesystem;

struct CalibrateOptions {
  SamplingFlags flags;
  std::string budgets = "1";
  int degree = 4;
  std::string model_out;  // default: rewrite the model file in place
};

void write_plot(const std::string& path, const std::vector<sampling::TeaCacheObservation>& obs,
                const std::vector<sampling::TeaCacheFit>& fits, const std::string& name) {
  std::vector<io::PlotSeries> series;
  for (const auto& fit : fits) {
    io::PlotSeries fitted{"fit, budget " + format_value(fit.budget), {}, {}};
    double hi = 0;
    for (const auto& o : obs) hi = o.budget == fit.budget ? std::max(hi, o.signal_change) : hi;
    for (int i = 0; i <= 8; ++i) {
      const double x = hi * i / 8.0;
      fitted.x.push_back(x);
      fitted.y.push_back(sampling::evaluate_polynomial(fit.coefficients, x));
    }
    series.push_back(fitted);
  }
  write_text(path, io::svg_line_plot(series, {name + ": TeaCache rescaling fits",
                                              "relative L1 change of the signal",
                                              "predicted relative change of the span output"}));
}

void run(const CalibrateOptions& o) {
  start_command();
  auto g = o.flags.generate_options();
  check(!o.flags.teacache,
        "--teacache is for sampling; calibrate records every step (choose the "
        "span with --teacache-span)");
  const auto span =
      models::parse_cached_span(o.flags.teacache_span.empty() ? "core" : o.flags.teacache_span);
  check(o.degree >= 1 && o.degree <= 8, "invalid --degree ", o.degree, ": must be in 1..8");
  const auto m = load_model(o.flags);
  const auto source = m.file.source;
  const std::string model_out = o.model_out.empty() ? source : o.model_out;
  check(model_out.size() > 12 && model_out.substr(model_out.size() - 12) == ".safetensors",
        "the calibration is stored in an elit .safetensors model file, and '", model_out,
        "' is not one: give --model-out FILE.safetensors (elit convert writes one)");
  const auto budgets = parse_budget_list(o.budgets, m.spec);
  const auto labels = class_labels(o.flags, m.spec);
  const auto cond = m.model->condition_for_labels(labels);
  const int64_t n = labels.size(0), batches = (n + g.batch_size - 1) / g.batch_size;
  sampling::TeaCacheOptions record;
  record.record = true;
  record.span = span;
  sampling::TeaCacheCalibration calibration;
  calibration.span = span;
  std::vector<sampling::TeaCacheObservation> all;
  Progress bar("calibrate", static_cast<int64_t>(budgets.size()) * batches * g.steps, "step");
  for (size_t k = 0; k < budgets.size(); ++k) {
    g.options.budget = sampling::BudgetSchedule::constant(budgets[k]);
    g.options.teacache = record;
    g.options.teacache_log = std::make_shared<sampling::TeaCacheLog>();
    sampling::generate(*m.model, cond, g, [&](int64_t done, int64_t, const sampling::StepInfo& s) {
      bar.update((k * batches + done / g.batch_size) * g.steps + s.step + 1,
                 {{"budget", format_value(budgets[k])}});
    });
    std::vector<double> x, y;
    for (const auto& ob : g.options.teacache_log->observations) {
      x.push_back(ob.signal_change);
      y.push_back(ob.output_change);
      all.push_back(ob);
    }
    auto fit = sampling::fit_rescale_polynomial(x, y, o.degree);
    fit.budget = budgets[k];
    calibration.fits.push_back(fit);
  }
  bar.finish();
  // Rewrite the model file with the same weights, configuration and metadata plus the fits.
  auto file = io::read_model_file(source.substr(0, source.find(" [")));
  auto metadata = file.metadata;
  metadata.erase(io::kModelConfigKey);
  metadata[sampling::kTeaCacheKey] = calibration.to_json().dump();
  io::write_model_file(model_out, file.weights, file.config, metadata);

  const std::string& dir = o.flags.out;
  nlohmann::json points = nlohmann::json::array();
  for (const auto& ob : all) points.push_back({ob.budget, ob.signal_change, ob.output_change});
  nlohmann::json report = {{"model", m.spec.name},
                           {"model_file", model_out},
                           {"images", n},
                           {"steps", g.steps},
                           {"cfg_scale", g.options.guidance.scale},
                           {"calibration", calibration.to_json()},
                           {"points_budget_signal_output", points}};
  write_text(dir + "/calibration.json", report.dump(2) + "\n");
  write_plot(dir + "/fits.svg", all, calibration.fits, m.spec.name);
  for (const auto& f : calibration.fits) {
    std::ostringstream line;
    line << "budget " << format_value(f.budget) << ": " << f.points << " step pairs, R^2 " << f.r2
         << ", coefficients";
    for (double c : f.coefficients) line << " " << c;
    note(line.str());
  }
  note("stored the " + models::cached_span_name(span) + " span's fits in " + model_out + " (" +
       sampling::kTeaCacheKey + "); wrote " + dir + "/{calibration.json, fits.svg}");
}

}  // namespace

void add_teacache_command(CLI::App& app) {
  auto* group = app.add_subcommand(
      "teacache", "TeaCache: fit the step-skipping rule per model (then sample with --teacache)");
  group->require_subcommand(1);
  auto o = std::make_shared<CalibrateOptions>();
  auto* cmd = group->add_subcommand(
      "calibrate",
      "sample while recording how much the cached span's input and output change from step to "
      "step, fit the rescaling polynomial per budget (np.polyfit) and store it in the model file");
  o->flags.add_to(*cmd, "teacache");
  o->flags.num = 16;
  cmd->add_option("--budgets", o->budgets,
                  "budgets to fit, e.g. 0.25,1, or 'all'; sampling uses the nearest fit")
      ->capture_default_str();
  cmd->add_option("--degree", o->degree, "polynomial degree (TeaCache: 4)")->capture_default_str();
  cmd->add_option("--model-out", o->model_out,
                  "write the calibrated model here (default: rewrite the model file in place)");
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
