// elit train: trains a model from a YAML/JSON configuration with the published train.py keys,
// any key overridable on the command line (--learning-rate 3e-4, --model_config.depth 6).
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "distributed.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/train/process_group_communicator.h"
#include "elit/train/trainer.h"
#include "interrupt.h"
#include "progress.h"

namespace elit::app {
namespace {
using nlohmann::json;

struct TrainOptions {
  std::string config;
  bool resume = false, print_config = false;
  DistributedFlags dist;
};

bool is_bool_key(const std::string& name) {
  for (const auto& k : train::train_config_keys()) {
    if (k.name == name) return k.type.rfind("bool", 0) == 0;
  }
  return false;
}

// "--key value", "--key=value", "--flag", "--no-flag"; values are read as YAML scalars (or flow
// collections), dotted keys reach into objects: --model_config.hidden_size 256.
void apply_overrides(const std::vector<std::string>& args, json& config) {
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    check(arg.rfind("--", 0) == 0 && arg.size() > 2, "unexpected argument '", arg,
          "' (expected --key value)");
    std::string name = arg.substr(2), text;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      text = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      text = args[++i];
      has_value = true;
    }
    name = train::normalize_key(name);
    json value;
    if (has_value) {
      value = yaml_to_json(text, "--" + name);
    } else if (name.rfind("no_", 0) == 0 && is_bool_key(name.substr(3))) {
      name = name.substr(3);
      value = false;
    } else {
      check(is_bool_key(name), "--", name, " needs a value");
      value = true;
    }
    json* target = &config;
    for (size_t dot; (dot = name.find('.')) != std::string::npos; name = name.substr(dot + 1)) {
      target = &(*target)[name.substr(0, dot)];
      if (!target->is_object()) *target = json::object();
    }
    (*target)[name] = value;
  }
}

std::string keys_help() {
  std::ostringstream out;
  out << "Usage: elit train --config configs/fmnist_elit_s4.yaml [--key value ...]\n"
         "Command-line values override the file (--learning-rate 3e-4, --model_config.depth 6,\n"
         "--qk-norm / --no-qk-norm); unknown keys are an error.\n\n";
  out << "Configuration keys (YAML file and --key value; hyphens or underscores; * = elit's "
         "own):\n";
  for (const auto& k : train::train_config_keys()) {
    out << "  " << k.name << (k.published ? "" : "*") << " = " << k.default_value.dump() << "\n"
        << "      " << k.help << "\n";
  }
  out << "\nModel keys by family (model_config in the file, --model_config.KEY value here; they\n"
         "override the named model's values; a run's args.json shows every value used):\n";
  for (const auto& b : models::backbones()) {
    std::string line = "  " + b.family + ":";
    for (const auto& k : b.config_keys()) {
      const std::string word = " " + k.name + (k.published ? "" : "*");
      if (line.size() + word.size() > 98) {
        out << line << "\n";
        line = std::string(b.family.size() + 3, ' ');
      }
      line += word;
    }
    out << line << "\n";
  }
  out << "\nDistributed: --nproc N starts N local ranks (global batch_size split over them);\n"
         "under torchrun or srun the environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)\n"
         "makes each process a rank. Rank 0 writes the run folder.\n";
  out << "\nRun folder <output_dir>/<exp_name>/: args.json, log.txt, log.jsonl, samples/, and\n"
         "checkpoints/<step:07d>/{model,ema,optimizer}.safetensors + trainer_state.json.\n"
         "Ctrl-C stops after the current update and writes a checkpoint; --resume continues.";
  return out.str();
}

void print_progress(Progress& bar, const train::StepLog& s, double& rate) {
  const double now = s.seconds > 0 ? static_cast<double>(s.images) / s.seconds : 0;
  rate = rate == 0 ? now : 0.9 * rate + 0.1 * now;  // smoothed images/s
  std::vector<std::pair<std::string, std::string>> fields = {{"loss", format_number(s.loss)},
                                                             {"lr", format_number(s.lr)},
                                                             {"gnorm", format_number(s.grad_norm)},
                                                             {"img/s", format_number(rate)}};
  if (s.budget) fields.insert(fields.begin(), {"budget", format_number(*s.budget)});
  bar.update(s.step, fields);
}

void run(const TrainOptions& o, const std::vector<std::string>& extras) {
  start_command();
  json config = o.config.empty() ? json::object() : read_config_file(o.config);
  check(config.is_object(), "config '", o.config, "' must be a mapping of keys to values");
  apply_overrides(extras, config);
  if (o.resume) config["resume_step"] = -1;
  auto parsed = train::train_config_from_json(config);
  if (o.print_config) {
    const auto data = data::make_dataset(train::training_dataset_options(parsed));
    std::cout << json({{"config", parsed.resolved},
                       {"model_config", train::training_model_config(parsed, data->info())}})
                     .dump(2)
              << std::endl;
    return;
  }
  if (o.dist.launching()) {
    launch_ranks(o.dist);
    return;
  }
  // WORLD_SIZE > 1 (torchrun, srun, --nproc): join the group; else train alone.
  parsed.device = train::rank_device(parsed.device);
  const auto communicator =
      train::communicator_from_env(o.dist.timeout(), torch::Device(parsed.device));
  train::Trainer trainer(parsed, communicator, [](const std::string& m) { note(m); });
  Progress bar("train", parsed.max_train_steps, "step");
  bar.set_time_limit(parsed.max_minutes * 60.0);
  double rate = 0;
  train::TrainEvents events;
  const StopOnSignal stop;  // Ctrl-C / SIGTERM: save a checkpoint after this update, then end
  events.should_stop = [&] { return stop.requested(); };
  events.on_step = [&](const train::StepLog& s) { print_progress(bar, s, rate); };
  const auto summary = trainer.run(events);
  bar.finish();
  note("run folder " + trainer.run_dir() + ", last checkpoint " + summary.last_checkpoint);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto opts = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand(
      "train", "train a model with the rectified-flow objective (published train.py keys)");
  cmd->allow_extras();
  cmd->add_option("--config", opts->config, "training configuration (YAML or JSON)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--resume", opts->resume,
                "continue from the run's latest checkpoint (resume_step -1)");
  cmd->add_flag("--print-config", opts->print_config,
                "print the resolved training and model configuration and exit");
  opts->dist.add_to(*cmd, /*default_timeout_s=*/300);
  cmd->footer(keys_help());
  cmd->callback([opts, cmd] { run(*opts, cmd->remaining()); });
}

}  // namespace elit::app
