// elit sample: images from a checkpoint at any budget (or budget schedule), with CFG, cheap CFG
// or autoguidance; PNGs, one grid PNG and an ADM-layout .npz for evaluation.
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.h"
#include "distributed.h"
#include "elit/dist/process_group.h"
#include "elit/io/image.h"
#include "elit/io/npz_stream.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"
#include "elit/sampling/presets.h"
#include "interrupt.h"
#include "progress.h"
#include "sampling_cost.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

namespace fs = std::filesystem;

struct SampleOptions {
  SamplingFlags flags;
  std::string budget = "1";
  std::optional<double> uncond_budget;
  bool autoguidance = false;
  std::string preset;
  int64_t write_every = 1024;
  DistributedFlags dist;
};

// --preset fills every setting it names that was not given on the command line.
void apply_preset(SampleOptions& o, const CLI::App& cmd) {
  if (o.preset.empty()) return;
  const auto& p = sampling::sampling_preset(o.preset);
  auto unset = [&](const char* flag) { return cmd.count(flag) == 0; };
  if (unset("--sampler")) o.flags.sampler = p.sampler;
  if (unset("--steps")) o.flags.steps = p.steps;
  if (unset("--budget")) o.budget = p.budget;
  if (unset("--uncond-budget") && !o.autoguidance) o.uncond_budget = p.uncond_budget;
  if (unset("--teacache") && p.teacache > 0) o.flags.teacache = p.teacache;
  if (unset("--dtype")) o.flags.dtype = p.dtype;
  note("preset " + p.name + " (" + p.summary + "): " + o.flags.sampler + ", " +
       std::to_string(o.flags.steps) + " steps, budget " + o.budget + ", " +
       (o.uncond_budget ? "cheap CFG at " + format_value(*o.uncond_budget) : "plain CFG") +
       (o.flags.teacache ? ", TeaCache " + format_value(*o.flags.teacache) : "") + ", " +
       o.flags.dtype + (o.flags.cfg_scale > 1 ? "" : "; guidance is off (--cfg-scale 1)"));
}

nlohmann::json settings_json(const SampleOptions& o, const LoadedModel& m,
                             const sampling::GenerateOptions& g) {
  return {{"model", m.spec.name},
          {"checkpoint", m.file.source},
          {"data_space", m.data_space},
          {"sampler", sampling::sampler_name(g.sampler)},
          {"steps", g.steps},
          {"budget", g.options.budget.describe()},
          {"cfg_scale", g.options.guidance.scale},
          {"guidance", g.options.guidance.mode()},
          {"guidance_interval", {g.options.guidance.low, g.options.guidance.high}},
          {"uncond_budget", o.uncond_budget ? nlohmann::json(*o.uncond_budget) : nullptr},
          {"seed", g.seed},
          {"batch_size", g.batch_size},
          {"dtype", o.flags.dtype},
          {"preset", o.preset.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.preset)},
          {"teacache_threshold", o.flags.teacache ? nlohmann::json(*o.flags.teacache) : nullptr}};
}

// Images in grid.png (the first ones), and labels listed in sample.json.
constexpr int64_t kGridImages = 1024;
constexpr int64_t kListedLabels = 100000;

// A run killed outright (SIGKILL, power) leaves its temporary .npz behind: remove those whose
// process is gone, saying so.
void remove_stale_partial_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    const auto mark = name.rfind(".tmp.");
    if (name.rfind(".samples.npz", 0) != 0 && name.rfind(".latents.npz", 0) != 0) continue;
    if (mark == std::string::npos) continue;
    const auto pid = std::atoll(name.c_str() + mark + 5);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      fs::remove(entry.path(), ec);
      note("removed " + entry.path().string() + ", left by an earlier run that did not finish");
    }
  }
}

// Writes the images in blocks of `block` as `generate(begin, end)` makes them: PNGs, the .npz
// (arr_0 and arr_1 = labels) and a grid of the first kGridImages. A latent model without a VAE
// writes latents.npz instead. Returns the grid's path ("" for latents).
std::string write_sample_blocks(const std::string& dir, const LoadedModel& m,
                                const torch::Tensor& labels, int64_t block, int64_t columns,
                                const std::function<torch::Tensor(int64_t, int64_t)>& generate) {
  const int64_t n = labels.size(0);
  const bool latents = m.data_space == "latents" && !m.vae;
  auto make = [&](int64_t begin) {
    const auto samples = generate(begin, std::min(n, begin + block));
    return latents ? samples.to(torch::kFloat32) : io::to_uint8_images(m.to_pixels(samples));
  };
  fs::create_directories(fs::path(dir) / (latents ? "" : "images"));
  auto first = make(0);  // its shape declares the arrays
  auto shape = first.sizes().vec();
  shape[0] = n;
  const auto npz = (fs::path(dir) / (latents ? "latents.npz" : "samples.npz")).string();
  std::vector<torch::Tensor> shown;
  io::write_npz_streaming(npz,
                          {{"arr_0", first.scalar_type(), shape}, {"arr_1", torch::kInt64, {n}}},
                          [&](io::NpzRowSink& sink) {
                            for (int64_t begin = 0; begin < n; begin += block) {
                              const auto part = begin == 0 ? first : make(begin);
                              if (!latents) {
                                write_pngs((fs::path(dir) / "images").string(), part, begin);
                                if (begin < kGridImages)
                                  shown.push_back(part.narrow(
                                      0, 0, std::min<int64_t>(part.size(0), kGridImages - begin)));
                              }
                              sink.append("arr_0", part);
                            }
                            sink.append("arr_1", labels);
                          });
  if (latents) {
    note("model '" + m.spec.name + "' works in latent space and no --vae was given: wrote " +
         "the latents (arr_0 float32 NCHW) to " + npz);
    return "";
  }
  const auto grid = (fs::path(dir) / "grid.png").string();
  io::write_png(grid, io::make_grid(torch::cat(shown), columns));
  return grid;
}

// Model FLOPs of one image as sampled (the budget schedule, guidance and sampler; TeaCache's
// skipped spans taken off), so that FD can be plotted against compute; from the analytic
// count (measured by the FLOP counter otherwise).
double flops_per_image(const sampling::GenerateOptions& g, const LoadedModel& m,
                       const nlohmann::json& teacache) {
  ForwardCosts costs(m);
  const auto grid = sampling::time_grid(g.sampler, g.steps);
  double per_image = static_cast<double>(sampling::sampling_flops_per_image(
      g.sampler, grid, g.options, [&](double b) { return costs.flops(b); }));
  if (teacache.is_object() && teacache.value("flops", 0.0) > 0) {
    per_image *= 1.0 - teacache.value("flops_saved_fraction", 0.0);
  }
  return per_image;
}

void run(SampleOptions& o, const CLI::App& cmd) {
  start_command();
  apply_preset(o, cmd);
  auto g = o.flags.generate_options();
  g.options.budget = sampling::BudgetSchedule::parse(o.budget);
  g.options.guidance.uncond_budget = o.uncond_budget;
  g.options.guidance.autoguidance = o.autoguidance;
  // Check what needs no model first, so a typo fails before the model loads.
  g.options.guidance.validate();
  sampling::time_grid(g.sampler, g.steps);
  if (o.dist.launching()) {
    launch_ranks(o.dist);
    return;
  }
  // A rank (torchrun, srun, --nproc) samples its share of whole batches; rank 0 gathers them.
  const auto env = dist::Environment::from_env();
  const auto group =
      env.distributed() ? dist::ProcessGroup::create(env, o.dist.timeout()) : nullptr;
  const auto m = load_model(o.flags);
  o.flags.apply_teacache(g, m);
  // Images are made and written block by block (memory stays bounded whatever --num). Ranks
  // work in rounds of one block each: every rank makes its share of the round (whole batches,
  // contiguous, in rank order) and rank 0 gathers the round and writes it.
  const auto labels = class_labels(o.flags, m.spec, 16, /*held_in_memory=*/false);
  const int64_t n = labels.size(0);
  // Blocks of whole batches, so that every image comes from the batch it would without blocks.
  const int64_t block = g.batch_size * std::max<int64_t>(1, o.write_every / g.batch_size);
  const int64_t round = block * env.world_size;
  auto my_part = [&](int64_t begin, int64_t end) {  // of round [begin, end): global indices
    const auto s = sampling::rank_share(end - begin, g.batch_size, env.rank, env.world_size);
    return sampling::Share{begin + s.begin, begin + s.end};
  };
  int64_t my_batches = 0, my_images = 0;
  for (int64_t r = 0; r < n; r += round) {
    const auto s = my_part(r, std::min(n, r + round));
    my_batches += (s.end - s.begin + g.batch_size - 1) / g.batch_size;
    my_images += s.end - s.begin;
  }
  Progress bar("sample", my_batches * g.steps, "step");
  const StopOnSignal stop;  // Ctrl-C / SIGTERM: stop after this step; samples.npz is not left half
  int64_t batches_done = 0, images_done = 0;
  // Images [begin, end) (global indices, whole batches) as the sampler returns them (float64 NCHW).
  auto generate = [&](int64_t begin, int64_t end) {
    if (begin == end)  // a rank without work in the last round
      return torch::empty({0, m.spec.in_channels, m.spec.height, m.spec.width}, torch::kFloat64);
    auto part = g;
    part.first_index = begin;  // the seeds of these images
    const auto rows = labels.narrow(0, begin, end - begin);
    auto images = sampling::generate(
        *m.model, m.model->condition_for_labels(rows), part,
        [&](int64_t done, int64_t batch_rows, const sampling::StepInfo& s) {
          stop.throw_if_requested("after " + std::to_string(images_done) +
                                  " images: their PNGs are in " + o.flags.out +
                                  "/images; the .npz is written only when complete");
          bar.update((batches_done + done / g.batch_size) * g.steps + s.step + 1,
                     {{"img", std::to_string(images_done + done + batch_rows) + "/" +
                                  std::to_string(my_images)},
                      {"budget", format_value(s.budget)}});
        });
    batches_done += (end - begin + g.batch_size - 1) / g.batch_size;
    images_done += end - begin;
    return images;
  };
  auto make_round = [&](int64_t begin, int64_t end) {
    const auto s = my_part(begin, end);
    return group ? group->all_gather_cat(generate(s.begin, s.end)) : generate(s.begin, s.end);
  };
  const Stopwatch watch;
  // One column per listed class when that makes a readable grid.
  const auto* label_data = labels.data_ptr<int64_t>();
  const std::set<int64_t> classes(label_data, label_data + std::min<int64_t>(n, 4096));
  const auto distinct = static_cast<int64_t>(classes.size());
  const int64_t shown = std::min<int64_t>(n, kGridImages);
  const int64_t columns =
      distinct > 1 && distinct <= 16
          ? distinct
          : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(shown))));
  std::string grid;
  if (env.is_main()) {
    remove_stale_partial_files(o.flags.out);
    grid = write_sample_blocks(o.flags.out, m, labels, round, columns, make_round);
  } else {
    for (int64_t r = 0; r < n; r += round) make_round(r, std::min(n, r + round));
  }
  bar.finish();
  if (!env.is_main()) return;
  const double seconds = watch.seconds();
  auto info = settings_json(o, m, g);
  info["images"] = n;
  if (n <= kListedLabels) {
    info["labels"] = std::vector<int64_t>(label_data, label_data + n);
  } else {  // too many to list: they cycle through --classes and are arr_1 of the .npz
    info["labels"] = nullptr;
    info["classes"] = classes;
  }
  info["seconds"] = seconds;
  info["seconds_per_image"] = seconds / static_cast<double>(std::max<int64_t>(n, 1));
  info["processes"] = env.world_size;
  info["teacache"] = teacache_report(g, m);  // this process's share
  info["flops_per_image"] = flops_per_image(g, m, info["teacache"]);
  write_text(o.flags.out + "/sample.json", info.dump(2) + "\n");
  if (!grid.empty()) {
    note("wrote " + std::to_string(n) + " images to " + o.flags.out + "/images, grid " + grid +
         ", " + o.flags.out + "/samples.npz");
  }
}

}  // namespace

void add_sample_command(CLI::App& app) {
  auto o = std::make_shared<SampleOptions>();
  auto* cmd =
      app.add_subcommand("sample",
                         "generate images from a checkpoint at any budget, with CFG / cheap CFG / "
                         "autoguidance; writes PNGs, a grid PNG and an ADM-layout .npz");
  o->flags.add_to(*cmd, "samples");
  cmd->add_option("--budget", o->budget,
                  "budget or schedule: 0.5 | per step 0.25,0.5,1 | by time 0.25>0.3,1 (0.25 "
                  "while t > 0.3, then 1)")
      ->capture_default_str();
  cmd->add_option("--uncond-budget", o->uncond_budget,
                  "cheap CFG: budget of the unconditional branch (e.g. 0.0625)");
  cmd->add_flag("--autoguidance", o->autoguidance,
                "the guiding branch keeps the class and runs at --uncond-budget");
  cmd->add_option("--preset", o->preset,
                  "quality | balanced | fast: sampler, steps, budget schedule, cheap CFG, TeaCache "
                  "and dtype chosen by measurement (docs/sampling.md); flags given explicitly win")
      ->check(CLI::IsMember({"quality", "balanced", "fast"}));
  cmd->add_option("--write-every", o->write_every,
                  "images generated and written per block (rounded to whole batches): what one "
                  "process holds in memory, whatever --num")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  o->dist.add_to(*cmd, /*default_timeout_s=*/300);
  cmd->callback([o, cmd] { run(*o, *cmd); });
}

}  // namespace elit::app
