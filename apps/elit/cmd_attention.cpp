// elit attention: where Read looks. Samples images (the `elit sample` path) while a
// ReadAttentionRecorder keeps every Read's softmax weights, then draws for every image the
// attention mass its spatial tokens receive from the kept latents, and one map per latent slot,
// at the step nearest --t and averaged over the trajectory: PNG grids plus the raw maps (.npz).
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "elit/io/heat_map.h"
#include "elit/io/image.h"
#include "elit/io/labelled_grid.h"
#include "elit/io/npz.h"
#include "elit/metrics/read_attention.h"
#include "elit/runtime/error.h"
#include "progress.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

// The sample count is bounded: every step's maps of every image stay in memory.
constexpr int64_t kMaxImages = 64;

struct AttentionOptions {
  SamplingFlags flags;
  double budget = 1.0;
  double t = 0.5;
  int64_t scale = 3;
};

// The maps of every image at every step (the step's first evaluation, conditional rows).
struct Trajectory {
  std::vector<double> t;             // [S] time of each step's first evaluation
  std::vector<torch::Tensor> mass;   // S x [N, gh, gw]
  std::vector<torch::Tensor> slots;  // S x [N, T, gh, gw]
  int64_t keep = 0;
};

// One row per image: the image, then the mass overlay, then every slot's map.
torch::Tensor grid_cells(const torch::Tensor& images, const torch::Tensor& mass,
                         const torch::Tensor& slots) {
  const int64_t n = images.size(0), H = images.size(1), W = images.size(2), T = slots.size(1);
  auto rgb = images.size(3) == 3 ? images : images.expand({n, H, W, 3});
  auto overlay = io::heat_map_images(mass, H, W, images);
  auto slot_maps = io::heat_map_images(slots.flatten(0, 1), H, W).view({n, T, H, W, 3});
  return torch::cat({rgb.unsqueeze(1), overlay.unsqueeze(1), slot_maps}, 1).flatten(0, 1);
}

void run(AttentionOptions& o) {
  start_command();
  check(o.t >= 0 && o.t <= 1, "--t must be in [0, 1] (1 = noise, 0 = data), got ", o.t);
  check(o.scale >= 1 && o.scale <= 16, "--scale must be in [1, 16], got ", o.scale);
  auto g = o.flags.generate_options();
  g.options.budget = sampling::BudgetSchedule::constant(o.budget);
  g.options.guidance.validate();
  const auto grid_t = sampling::time_grid(g.sampler, g.steps);
  const auto m = load_model(o.flags);
  metrics::ReadAttentionRecorder recorder(*m.model, m.spec.name);
  const auto labels = class_labels(o.flags, m.spec);
  const int64_t n = labels.size(0);
  check(n <= kMaxImages, "elit attention keeps every step's maps in memory: at most ", kMaxImages,
        " images, got --num ", n);
  const int64_t batches = (n + g.batch_size - 1) / g.batch_size;
  Trajectory traj;
  std::vector<std::vector<torch::Tensor>> mass_rows, slot_rows;  // [step][batch]
  Progress bar("attention", batches * g.steps, "step");
  const auto samples = sampling::generate(
      *m.model, m.model->condition_for_labels(labels), g,
      [&](int64_t done, int64_t rows, const sampling::StepInfo& s) {
        auto captured = recorder.take();
        check(!captured.empty(), "no Read ran in step ", s.step);
        // The step's first evaluation is at s.t; its first `rows` rows are the conditional branch.
        const auto first = captured.front();
        const models::ReadAttention cond{first.weights.narrow(0, 0, rows), first.layout,
                                         first.keep};
        if (done == 0) {
          traj.t.push_back(s.t);
          mass_rows.emplace_back(), slot_rows.emplace_back();
        }
        traj.keep = cond.keep;
        mass_rows[s.step].push_back(metrics::read_mass_map(cond, cond.keep));
        slot_rows[s.step].push_back(metrics::read_slot_maps(cond));
        bar.update((done / g.batch_size) * g.steps + s.step + 1,
                   {{"img", std::to_string(done + rows) + "/" + std::to_string(n)}});
      });
  bar.finish();
  for (size_t s = 0; s < mass_rows.size(); ++s) {
    traj.mass.push_back(torch::cat(mass_rows[s], 0));
    traj.slots.push_back(torch::cat(slot_rows[s], 0));
  }
  // The step whose evaluation time is nearest --t.
  size_t at = 0;
  for (size_t s = 1; s < traj.t.size(); ++s) {
    if (std::abs(traj.t[s] - o.t) < std::abs(traj.t[at] - o.t)) at = s;
  }
  const auto mass_mean = torch::stack(traj.mass).mean(0),
             slots_mean = torch::stack(traj.slots).mean(0);
  const auto pixels = m.to_pixels(samples);
  const auto images = io::to_uint8_images(pixels);  // [N, H, W, C]
  const int64_t T = traj.slots[at].size(1);

  std::vector<std::string> rows, columns = {"image", "mass"};
  for (int64_t i = 0; i < n; ++i) rows.push_back(m.class_name(labels[i].item<int64_t>()));
  for (int64_t s = 0; s < T; ++s) {
    columns.push_back("slot " + std::to_string(s + 1));
  }
  const std::string& dir = o.flags.out;
  std::filesystem::create_directories(dir);
  const std::string at_name = "attention-t" + format_value(traj.t[at]) + ".png";
  const std::string budget_text =
      "budget " + format_value(o.budget) + " (" + std::to_string(traj.keep) + "/" +
      std::to_string(T) + " latents per group" +
      (traj.keep < T ? ", slots past " + std::to_string(traj.keep) + " dropped)" : ")");
  io::write_png(
      dir + "/" + at_name,
      io::labelled_grid_image(
          grid_cells(images, traj.mass[at], traj.slots[at]), T + 2, rows, columns,
          m.spec.name + ": Read attention at t = " + format_value(traj.t[at]) + ", " + budget_text,
          o.scale));
  io::write_png(
      dir + "/attention-mean.png",
      io::labelled_grid_image(grid_cells(images, mass_mean, slots_mean), T + 2, rows, columns,
                              m.spec.name + ": Read attention averaged over " +
                                  std::to_string(traj.t.size()) + " steps, " + budget_text,
                              o.scale));
  io::write_npz(dir + "/attention.npz",
                {{"images", images},
                 {"labels", labels},
                 {"step_t", torch::tensor(traj.t, torch::kFloat64)},
                 {"mass", torch::stack(traj.mass, 1)},    // [N, S, gh, gw]
                 {"slots", torch::stack(traj.slots, 1)},  // [N, S, T, gh, gw]
                 {"mass_mean", mass_mean},
                 {"slots_mean", slots_mean}});
  const nlohmann::json info = {{"model", m.spec.name},  {"checkpoint", m.file.source},
                               {"budget", o.budget},    {"latents_per_group", traj.keep},
                               {"tokens_per_group", T}, {"sampler", o.flags.sampler},
                               {"steps", g.steps},      {"cfg_scale", g.options.guidance.scale},
                               {"seed", g.seed},        {"labels", rows},
                               {"t_requested", o.t},    {"t_shown", traj.t[at]},
                               {"step_shown", at},      {"reads_per_forward", recorder.reads()}};
  write_text(dir + "/attention.json", info.dump(2) + "\n");
  note("wrote " + dir + "/{" + at_name + ", attention-mean.png, attention.npz, attention.json}");
}

}  // namespace

void add_attention_command(CLI::App& app) {
  auto o = std::make_shared<AttentionOptions>();
  auto* cmd = app.add_subcommand(
      "attention",
      "Read-attention maps of an ELIT model: for every sampled image, the attention mass each "
      "spatial token receives from the kept latents and one map per latent slot, at a given t "
      "and averaged over the trajectory (PNG grids, raw maps in attention.npz)");
  o->flags.add_to(*cmd, "attention");
  cmd->add_option("--budget", o->budget,
                  "budget the images are sampled at (the mass map sums "
                  "over the latents this keeps)")
      ->capture_default_str();
  cmd->add_option("--t", o->t,
                  "time of the maps drawn in attention-t*.png: the step nearest it (1 = noise, "
                  "0 = data)")
      ->capture_default_str();
  cmd->add_option("--scale", o->scale, "magnification of the PNG grid cells")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
