// Flags and helpers shared by the elit subcommands.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "elit/io/model_file.h"

namespace elit::app {

// --model NAME | --model-config FILE, --weights FILE, --ema/--raw for published checkpoints.
struct ModelOptions {
  std::string weights;
  std::string model;         // named variant, e.g. ELIT-SiT-S/2
  std::string model_config;  // JSON/YAML with the published constructor names
  std::string weights_key = "ema";
  void add_to(CLI::App& cmd, bool weights_required = true);
  // The configuration overrides from --model / --model-config (empty when neither is given).
  std::optional<nlohmann::json> config_overrides() const;
  io::ModelFile read() const;
};

// For commands that build a model without data (flops, bench): a builtin-text MM-DiT config
// without captions (elit train takes them from its dataset) gets the default dataset's
// (Fashion-MNIST's) class captions. Other configs are returned as they are.
nlohmann::json with_default_captions(nlohmann::json config);

torch::Dtype parse_dtype(const std::string& name);    // float32|float64|bfloat16|float16
torch::Device parse_device(const std::string& name);  // cpu|cuda|cuda:N
std::string dtype_name(torch::Dtype dtype);

// --threads and --quiet on the top-level app; every command's callback starts with
// start_command(), which applies them (options are all parsed before any callback runs).
void add_global_options(CLI::App& app);
void start_command();

// Prints to stderr; the single place where the CLI writes human progress, so --quiet mutes it.
void note(const std::string& message);
bool quiet();

}  // namespace elit::app
