// elit forward: one forward pass from a safetensors file of inputs, for checking a port or a
// checkpoint by hand against another implementation.
#include <chrono>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"

namespace elit::app {
namespace {

struct ForwardOptions {
  ModelOptions model;
  std::string inputs, out, dtype = "float32", device = "cpu";
  std::optional<double> budget;
};

void run(const ForwardOptions& o) {
  start_command();
  const auto dtype = parse_dtype(o.dtype);
  const auto device = parse_device(o.device);
  auto model = io::build_model(o.model.read(), dtype, device);
  auto in = io::read_safetensors(o.inputs).tensors;
  for (const char* key : {"input.x", "input.t"}) {
    check(in.count(key) > 0, "inputs '", o.inputs, "' have no tensor '", key,
          "' (expected input.x [B,C,H,W], input.t [B], and input.y [B] int64 or input.context)");
  }
  auto x = in.at("input.x").to(device, dtype);
  auto t = in.at("input.t").to(device, dtype);
  models::Condition cond;
  if (in.count("input.y")) cond.labels = in.at("input.y").to(device, torch::kInt64);
  if (in.count("input.context")) cond.context = in.at("input.context").to(device, dtype);
  if (in.count("input.context_mask"))
    cond.context_mask = in.at("input.context_mask").to(device, torch::kBool);
  if (in.count("input.pooled")) cond.pooled = in.at("input.pooled").to(device, dtype);
  torch::NoGradGuard no_grad;
  const Stopwatch watch;
  auto out = model->forward(x, t, cond, o.budget);
  const double secs = watch.seconds();
  io::write_safetensors(
      o.out, {{"output", out.cpu()}},
      {{"budget", o.budget ? std::to_string(*o.budget) : "full"}, {"dtype", dtype_name(dtype)}});
  const auto spec = model->spec();
  std::ostringstream msg;
  msg << "forward " << spec.name << " " << x.sizes() << " -> " << out.sizes();
  if (spec.elit) {
    const int64_t keep = o.budget ? model->keep_for_budget(*o.budget) : spec.tokens_per_group;
    msg << ", " << keep << "/" << spec.tokens_per_group << " latents per group";
  }
  msg << ", " << dtype_name(dtype) << ", " << secs * 1e3 << " ms -> " << o.out;
  note(msg.str());
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto opts = std::make_shared<ForwardOptions>();
  auto* cmd = app.add_subcommand(
      "forward", "one forward pass: input.x/input.t/input.y (safetensors) -> output");
  opts->model.add_to(*cmd);
  cmd->add_option("--inputs", opts->inputs, "safetensors with input.x, input.t, input.y")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", opts->out, "output safetensors (tensor 'output')")->required();
  cmd->add_option("--budget", opts->budget,
                  "fraction of latents kept per group (0,1], or a latent count > 1; default full");
  cmd->add_option("--dtype", opts->dtype, "float32, float64 or bfloat16")->capture_default_str();
  cmd->add_option("--device", opts->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->callback([opts] { run(*opts); });
}

}  // namespace elit::app
