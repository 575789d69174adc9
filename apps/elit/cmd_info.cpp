// elit info WEIGHTS: what a weights file holds and what the model costs at each budget.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "elit/io/model_file.h"
#include "elit/io/published_checkpoint.h"
#include "elit/models/budget.h"
#include "elit/runtime/error.h"

namespace elit::app {
namespace {

struct InfoOptions {
  ModelOptions model;
  bool json = false;
};

nlohmann::json describe(const io::ModelFile& file) {
  // Built with the file's weights: every tensor is checked against the config (names, shapes,
  // finite values), so that info never describes a file that cannot be used.
  auto model = io::build_model(file, torch::kFloat32, torch::kCPU);
  const auto spec = model->spec();
  int64_t params = 0, buffers = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  for (const auto& b : model->buffers()) buffers += b.numel();
  nlohmann::json j;
  j["source"] = file.source;
  j["config"] = file.config;
  // The published count includes pos_embed (a frozen nn.Parameter there, a buffer here).
  j["parameters"] = params + buffers;
  j["trainable_parameters"] = params;
  j["input"] = {spec.in_channels, spec.height, spec.width};
  j["latent_tokens"] = spec.latent_tokens;
  if (spec.elit) {
    j["groups"] = spec.latent_tokens / spec.tokens_per_group;
    j["tokens_per_group"] = spec.tokens_per_group;
    auto budgets = nlohmann::json::array();
    for (double b : models::valid_budgets(spec.tokens_per_group)) {
      const int64_t keep = model->keep_for_budget(b);
      budgets.push_back({{"budget", b},
                         {"latents_per_group", keep},
                         {"core_tokens", keep * spec.latent_tokens / spec.tokens_per_group}});
    }
    j["budgets"] = budgets;
  }
  return j;
}

void run(const InfoOptions& o) {
  start_command();
  const auto file = o.model.read();
  auto j = describe(file);
  if (io::is_torch_zip(o.model.weights)) {
    auto ck = io::read_published_checkpoint(o.model.weights, {});
    j["checkpoint"] = {{"keys", ck.keys}, {"args", ck.args}};
    if (ck.steps) j["checkpoint"]["steps"] = *ck.steps;
  }
  if (o.json) {
    std::cout << j.dump(2) << std::endl;
    return;
  }
  const auto& c = file.config;
  std::cout << "source:      " << j["source"].get<std::string>() << "\n"
            << "model:       " << file.name() << " (" << c.value("family", "?")
            << (j.contains("budgets") ? ", ELIT" : "") << ")\n"
            << "parameters:  " << j["parameters"] << " (" << j["trainable_parameters"]
            << " trainable)\n"
            << "input:       " << j["input"][0] << "x" << j["input"][1] << "x" << j["input"][2]
            << " -> " << j["latent_tokens"] << " tokens\n";
  if (c.value("family", "") == "sit" && j.contains("budgets")) {  // SiT block layout
    const int64_t depth = c["depth"], enc = c["encoder_depth"], dec = c["dit_decoder_depth"];
    std::cout << "blocks:      " << enc << " spatial -> Read -> " << depth - enc - dec
              << " on latents -> Write -> " << dec << " spatial\n";
  }
  if (j.contains("budgets")) {
    std::cout << "groups:      " << j["groups"] << " groups of " << j["tokens_per_group"]
              << " latents\n"
              << "budgets:     ";
    for (const auto& b : j["budgets"]) {
      std::cout << b["budget"].get<double>() << " (" << b["core_tokens"] << " tokens)  ";
    }
    std::cout << "\n";
  }
  if (j.contains("checkpoint")) {
    std::cout << "checkpoint:  keys " << j["checkpoint"]["keys"].dump();
    if (j["checkpoint"].contains("steps")) std::cout << ", steps " << j["checkpoint"]["steps"];
    std::cout << "\n             args " << j["checkpoint"]["args"].dump() << "\n";
  }
  std::cout << "config:      " << j["config"].dump() << std::endl;
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "describe a weights file: configuration, size, budgets");
  opts->model.add_to(*cmd);
  // `elit info FILE` as well as `elit info --weights FILE`.
  cmd->add_option("file", opts->model.weights, "weights file (same as --weights)");
  cmd->get_option("--weights")->required(false);
  cmd->add_flag("--json", opts->json, "print JSON instead of text");
  cmd->callback([opts] {
    elit::check(!opts->model.weights.empty(), "elit info: give a weights file");
    run(*opts);
  });
}

}  // namespace elit::app
