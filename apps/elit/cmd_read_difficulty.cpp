// elit read-difficulty (experiment E5, docs/experiments.md): does Read attend where the model
// finds the image hard? For held-out images at fixed times t, one forward gives both the Read
// attention mass of every spatial token (metrics/read_attention.h, the forward's own weights)
// and the flow-matching loss of every patch (metrics/per_patch_loss.h). Both are taken as shares
// within each latent group (Read's mass is normalised per group), and their Spearman correlation
// over an image's tokens is averaged over the images; so is the correlation with a simple
// content measure (the patch's pixel variance) and, as the chance level, with another image's
// loss shares.
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "elit/data/dataset.h"
#include "elit/io/model_file.h"
#include "elit/io/svg_plot.h"
#include "elit/metrics/per_patch_loss.h"
#include "elit/metrics/read_attention.h"
#include "elit/metrics/spearman.h"
#include "elit/runtime/error.h"
#include "progress.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

struct ReadDifficultyOptions {
  ModelOptions model;
  std::string data_dir, split = "test", times = "0.25,0.5,0.75", path = "linear";
  int64_t num = 500, batch_size = 50;
  double budget = 1.0;
  uint64_t seed = 0;
  std::string out = "read-difficulty";
};

// Per-image correlations at one t: mean, standard deviation and standard error.
struct Correlation {
  std::vector<double> values;  // one per image (NaN where a map was constant: left out)
  nlohmann::json to_json() const {
    double sum = 0, sq = 0;
    int64_t n = 0;
    for (double v : values) {
      if (std::isnan(v)) continue;
      sum += v, sq += v * v, ++n;
    }
    const double mean = n ? sum / n : NAN;
    const double sd = n > 1 ? std::sqrt(std::max(0.0, (sq - n * mean * mean) / (n - 1))) : NAN;
    return {{"mean", mean},
            {"std", sd},
            {"sem", n > 1 ? sd / std::sqrt(double(n)) : NAN},
            {"images", n},
            {"constant_maps", static_cast<int64_t>(values.size()) - n}};
  }
};

// [B, gh, gw] -> each token's share of its group's total: [B, gh, gw]
torch::Tensor group_shares(const torch::Tensor& map, const models::GroupLayout& layout) {
  const int64_t B = map.size(0);
  auto grouped = models::group_tokens(map.reshape({B, layout.tokens(), 1}), layout);  // [B,G,T,1]
  grouped = grouped / grouped.sum(2, /*keepdim=*/true).clamp_min(1e-30);
  return models::ungroup_tokens(grouped, layout).view(map.sizes());
}

std::vector<double> parse_times(const std::string& text) {
  return parse_number_list(text, "--times", "a time in (0, 1)",
                           [](double t) { return t > 0 && t < 1; });
}

void run(const ReadDifficultyOptions& o) {
  start_command();
  const auto times = parse_times(o.times);
  check(o.num >= 2 && o.batch_size >= 1, "--num must be >= 2 and --batch-size >= 1");
  const auto path = flow::parse_path_type(o.path);
  const auto file = o.model.read();
  auto model = io::build_model(file, torch::kFloat32, torch::kCPU);
  model->eval();
  const auto spec = model->spec();
  check(spec.num_classes > 0, "model '", spec.name, "' is not class-conditional");
  metrics::ReadAttentionRecorder recorder(*model, spec.name);
  data::DatasetOptions d;
  d.data_dir = o.data_dir;
  d.split = o.split;
  d.resolution = spec.height;
  const auto dataset = data::make_dataset(d);
  const auto& info = dataset->info();
  check(info.channels == spec.in_channels && info.height == spec.height, "the dataset's ",
        info.channels, "x", info.height, "x", info.width, " images do not fit ", spec.name, " (",
        spec.in_channels, "x", spec.height, "x", spec.width, ")");
  const int64_t n = std::min(o.num, dataset->size());
  note("E5 on " + std::to_string(n) + " " + info.name + " images, budget " +
       format_value(o.budget) + ", t = " + o.times);

  torch::NoGradGuard no_grad;
  torch::manual_seed(o.seed);
  // The token grid Read works on, from one probe forward: a token covers patch x patch pixels.
  model->forward(torch::zeros({1, spec.in_channels, spec.height, spec.width}),
                 torch::full({1}, 0.5),
                 model->condition_for_labels(torch::zeros({1}, torch::kInt64)), o.budget);
  const auto probe = recorder.take().at(0);
  const auto layout = probe.layout;
  const int64_t patch = spec.height / layout.grid_h;
  check(patch * layout.grid_h == spec.height && patch * layout.grid_w == spec.width, "Read's ",
        layout.grid_h, "x", layout.grid_w, " token grid does not tile the ", spec.height, "x",
        spec.width, " image");

  std::vector<Correlation> loss_corr(times.size()), var_corr(times.size()),
      chance_corr(times.size());
  Progress bar("read-difficulty", n, "img");
  for (int64_t begin = 0; begin < n; begin += o.batch_size) {
    const int64_t rows = std::min(o.batch_size, n - begin);
    std::vector<torch::Tensor> xs;
    std::vector<int64_t> labels;
    for (int64_t i = begin; i < begin + rows; ++i) {
      auto e = dataset->get(i, data::example_seed(o.seed, 0, i));
      xs.push_back(e.x);
      labels.push_back(e.label);
    }
    const auto x0 = torch::stack(xs);  // [B, C, H, W]
    const auto cond = model->condition_for_labels(torch::tensor(labels, torch::kInt64));
    // Pixel variance of every patch (over its channels and pixels): [B, gh, gw]
    const auto variance =
        x0.view({rows, spec.in_channels, layout.grid_h, patch, layout.grid_w, patch})
            .permute({0, 2, 4, 1, 3, 5})
            .reshape({rows, layout.grid_h, layout.grid_w, -1})
            .var(-1);
    const auto variance_share = group_shares(variance, layout);
    for (size_t k = 0; k < times.size(); ++k) {
      const auto noise = torch::randn_like(x0);
      const auto t = torch::full({rows}, times[k]);
      recorder.take();
      // One forward: its loss per patch, and the Read attention it computed.
      const auto loss =
          metrics::per_patch_flow_loss(*model, path, x0, noise, t, cond, o.budget, patch);
      const auto captured = recorder.take();
      check(captured.size() == 1, "expected one Read per forward, got ", captured.size());
      const auto mass = metrics::read_mass_map(captured[0], captured[0].keep);
      const auto loss_share = group_shares(loss, layout);
      for (int64_t i = 0; i < rows; ++i) {
        const auto m = mass[i].flatten();
        loss_corr[k].values.push_back(metrics::spearman_correlation(m, loss_share[i].flatten()));
        var_corr[k].values.push_back(metrics::spearman_correlation(m, variance_share[i].flatten()));
        // Chance level: another image's loss shares (the next one in the batch).
        const int64_t other = (i + 1) % rows;
        if (rows > 1) {
          chance_corr[k].values.push_back(
              metrics::spearman_correlation(m, loss_share[other].flatten()));
        }
      }
    }
    bar.update(begin + rows);
  }
  bar.finish();

  nlohmann::json per_t = nlohmann::json::array();
  io::PlotSeries s_loss{"Read mass vs loss share", {}, {}},
      s_var{"Read mass vs pixel-variance share", {}, {}},
      s_chance{"vs another image's loss share (chance)", {}, {}};
  std::ostringstream table;
  table << "| t | Spearman(mass, loss share) | Spearman(mass, variance share) | chance |\n"
        << "| ---: | ---: | ---: | ---: |\n";
  for (size_t k = 0; k < times.size(); ++k) {
    const auto l = loss_corr[k].to_json(), v = var_corr[k].to_json(), c = chance_corr[k].to_json();
    per_t.push_back({{"t", times[k]}, {"mass_vs_loss", l}, {"mass_vs_variance", v}, {"chance", c}});
    for (auto* series : {&s_loss, &s_var, &s_chance}) series->x.push_back(times[k]);
    s_loss.y.push_back(l["mean"].get<double>());
    s_var.y.push_back(v["mean"].get<double>());
    s_chance.y.push_back(c["mean"].get<double>());
    char line[200];
    std::snprintf(line, sizeof line, "| %.3g | %.3f ± %.3f | %.3f ± %.3f | %.3f ± %.3f |\n",
                  times[k], l["mean"].get<double>(), l["sem"].get<double>(),
                  v["mean"].get<double>(), v["sem"].get<double>(), c["mean"].get<double>(),
                  c["sem"].get<double>());
    table << line;
  }
  const nlohmann::json report = {{"experiment", "E5 Read follows difficulty"},
                                 {"model", spec.name},
                                 {"checkpoint", file.source},
                                 {"dataset", info.name},
                                 {"images", n},
                                 {"budget", o.budget},
                                 {"latents_per_group", probe.keep},
                                 {"tokens_per_group", layout.tokens_per_group()},
                                 {"patch_pixels", patch},
                                 {"seed", o.seed},
                                 {"path", o.path},
                                 {"note",
                                  "per-image Spearman over the tokens; mean, std, sem "
                                  "(standard error) over the images"},
                                 {"results", per_t}};
  write_text(o.out + "/results.json", report.dump(2) + "\n");
  write_text(o.out + "/table.md", table.str());
  write_text(o.out + "/correlation.svg",
             io::svg_line_plot({s_loss, s_var, s_chance},
                               {spec.name + ": does Read attend where the loss is? (" +
                                    std::to_string(n) + " images)",
                                "t (1 = noise)", "mean per-image Spearman correlation"}));
  if (!quiet()) std::fprintf(stderr, "%s", table.str().c_str());
  note("wrote " + o.out + "/{results.json, table.md, correlation.svg}");
}

}  // namespace

void add_read_difficulty_command(CLI::App& app) {
  auto o = std::make_shared<ReadDifficultyOptions>();
  auto* cmd = app.add_subcommand(
      "read-difficulty",
      "experiment E5: Spearman correlation between the Read attention mass of every spatial "
      "token and its share of the flow-matching loss (and of the pixel variance) on held-out "
      "images at fixed t; results.json, table.md, correlation.svg");
  o->model.add_to(*cmd);
  cmd->add_option("--data-dir", o->data_dir,
                  "Fashion-MNIST folder (default: the Debian package's)");
  cmd->add_option("--split", o->split, "train | test (held out)")->capture_default_str();
  cmd->add_option("--num", o->num, "images (at most the split's size)")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "images per forward")->capture_default_str();
  cmd->add_option("--times", o->times, "times t in (0, 1), comma-separated (1 = noise)")
      ->capture_default_str();
  cmd->add_option("--budget", o->budget, "budget of the forwards")->capture_default_str();
  cmd->add_option("--path", o->path, "interpolant the model was trained with: linear | cosine")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the noise")->capture_default_str();
  cmd->add_option("--out", o->out, "output folder")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
