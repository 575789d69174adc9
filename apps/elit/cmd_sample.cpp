// elit sample: images from a checkpoint at any budget (or budget schedule), with CFG, cheap CFG
// or autoguidance; PNGs, one grid PNG and an ADM-layout .npz for evaluation.
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.h"
#include "distributed.h"
#include "elit/dist/process_group.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"
#include "elit/sampling/presets.h"
#include "progress.h"
#include "sampling_flags.h"

namespace elit::app {
namespace {

struct SampleOptions {
  SamplingFlags flags;
  std::string budget = "1";
  std::optional<double> uncond_budget;
  bool autoguidance = false;
  std::string preset;
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
  const auto labels = class_labels(o.flags, m.spec);
  const int64_t n = labels.size(0);
  const auto share = sampling::rank_share(n, g.batch_size, env.rank, env.world_size);
  g.first_index = share.begin;  // the seeds of these images
  const auto mine = labels.narrow(0, share.begin, share.end - share.begin);
  const int64_t batches = (mine.size(0) + g.batch_size - 1) / g.batch_size;
  Progress bar("sample", batches * g.steps, "step");
  const Stopwatch watch;
  auto samples = sampling::generate(
      *m.model, m.model->condition_for_labels(mine), g,
      [&](int64_t done, int64_t rows, const sampling::StepInfo& s) {
        bar.update((done / g.batch_size) * g.steps + s.step + 1,
                   {{"img", std::to_string(done + rows) + "/" + std::to_string(mine.size(0))},
                    {"budget", format_value(s.budget)}});
      });
  bar.finish();
  if (group) {
    samples = group->all_gather_cat(samples);  // rank order = image order
    if (!env.is_main()) return;
  }
  const double seconds = watch.seconds();
  // One column per listed class when that makes a readable grid.
  const std::vector<int64_t> label_list(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n);
  const auto distinct =
      static_cast<int64_t>(std::set<int64_t>(label_list.begin(), label_list.end()).size());
  const int64_t columns = distinct > 1 && distinct <= 16
                              ? distinct
                              : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const auto grid =
      write_samples(o.flags.out, samples, m, columns, /*individual_pngs=*/true, labels);
  auto info = settings_json(o, m, g);
  info["images"] = n;
  info["labels"] = label_list;
  info["seconds"] = seconds;
  info["seconds_per_image"] = seconds / static_cast<double>(std::max<int64_t>(n, 1));
  info["processes"] = env.world_size;
  info["teacache"] = teacache_report(g, m);  // this process's share
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
  o->dist.add_to(*cmd, /*default_timeout_s=*/300);
  cmd->callback([o, cmd] { run(*o, *cmd); });
}

}  // namespace elit::app
