// elit convert: published train.py checkpoint (.pt) -> elit safetensors with the model
// configuration in its metadata, loadable by every other command.
#include "cli_common.h"
#include "commands.h"
#include "elit/io/published_checkpoint.h"
#include "elit/io/state_dict.h"

namespace elit::app {
namespace {

struct ConvertOptions {
  ModelOptions model;
  std::string out;
};

void run(const ConvertOptions& o) {
  start_command();
  auto file = o.model.read();
  // Build the model once: proves that every key and shape fits before anything is written.
  auto model = io::build_model(file);
  io::Metadata meta{{"elit.source", file.source}};
  if (io::is_torch_zip(o.model.weights)) {
    auto ck = io::read_published_checkpoint(o.model.weights, {});
    meta["elit.train_args"] = ck.args.dump();
    if (ck.steps) meta["elit.steps"] = std::to_string(*ck.steps);
  }
  io::write_model_file(o.out, file.weights, file.config, meta);
  note("wrote " + o.out + " (" + std::to_string(file.weights.size()) + " tensors, model " +
       file.name() + ")");
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto opts = std::make_shared<ConvertOptions>();
  auto* cmd = app.add_subcommand(
      "convert", "convert published .pt weights to elit .safetensors (config in the metadata)");
  opts->model.add_to(*cmd);
  cmd->get_option("--weights")->required(false);
  cmd->add_option("input", opts->model.weights, "input .pt or .safetensors")->required();
  cmd->add_option("output", opts->out, "output .safetensors")->required();
  cmd->callback([opts] { run(*opts); });
}

}  // namespace elit::app
