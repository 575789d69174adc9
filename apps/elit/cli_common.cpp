#include "cli_common.h"

#include <cstdlib>
#include <iostream>

#include "config_file.h"
#include "elit/data/fashion_mnist.h"
#include "elit/io/checkpoint_path.h"
#include "elit/models/registry.h"
#include "elit/runtime/cpu.h"
#include "elit/runtime/error.h"
#include "elit/text/tokenizer.h"

namespace elit::app {
namespace {
bool g_quiet = false;
int g_threads = 0;
}  // namespace

void add_global_options(CLI::App& app) {
  app.add_option("--threads", g_threads, "CPU threads for libtorch (default: all cores)");
  app.add_flag("--quiet,-q", g_quiet, "no progress output on stderr");
}

void start_command() {
  set_threads(g_threads);
  // Ranks other than 0 of a distributed run stay silent: rank 0 speaks for the group.
  if (const char* rank = std::getenv("RANK"); rank && *rank && std::string(rank) != "0") {
    g_quiet = true;
  }
}

void ModelOptions::add_to(CLI::App& cmd, bool weights_required) {
  auto* w = cmd.add_option("--weights,--ckpt", weights,
                           "weights: elit .safetensors, a published train.py .pt checkpoint, a "
                           "training checkpoint folder (its ema.safetensors) or a training run "
                           "folder (the latest checkpoint's ema.safetensors)");
  if (weights_required) w->required();
  cmd.add_option("--model", model, "named model (e.g. ELIT-SiT-S/2), when the file has no config");
  cmd.add_option("--model-config", model_config,
                 "model configuration (JSON/YAML, published constructor argument names)");
  cmd.add_option("--weights-key", weights_key, "which weights of a published .pt: ema or model")
      ->check(CLI::IsMember({"ema", "model"}))
      ->capture_default_str();
}

std::optional<nlohmann::json> ModelOptions::config_overrides() const {
  if (model.empty() && model_config.empty()) return std::nullopt;
  nlohmann::json j =
      model_config.empty() ? nlohmann::json::object() : read_config_file(model_config);
  check(j.is_object(), "model config '", model_config, "' must be a mapping of keys to values");
  if (!model.empty()) j["model"] = model;
  return j;
}

nlohmann::json with_default_captions(nlohmann::json config) {
  if (models::model_family(config) != "mmdit" || config.contains("captions") ||
      config.contains("vocabulary"))
    return config;
  config["captions"] = text::captions_for_classes(data::fashion_mnist_classes());
  return config;
}

io::ModelFile ModelOptions::read() const {
  io::ModelFileOptions opts;
  opts.config = config_overrides();
  opts.weights_key = weights_key;
  return io::read_model_file(io::resolve_model_path(weights), opts);
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return torch::kFloat32;
  if (name == "float64" || name == "fp64") return torch::kFloat64;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16") return torch::kFloat16;
  fail("unknown dtype '", name, "' (expected float32, float64, bfloat16 or float16)");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kFloat16:
      return "float16";
    default:
      return c10::toString(dtype);
  }
}

torch::Device parse_device(const std::string& name) {
  try {
    torch::Device device(name);
    check(device.is_cpu() || torch::cuda::is_available(), "device '", name,
          "' requested but this libtorch has no usable CUDA device");
    return device;
  } catch (const c10::Error&) {
    fail("unknown device '", name, "' (expected cpu, cuda or cuda:N)");
  }
}

void note(const std::string& message) {
  if (!g_quiet) std::cerr << message << std::endl;
}

bool quiet() {
  return g_quiet;
}

}  // namespace elit::app
