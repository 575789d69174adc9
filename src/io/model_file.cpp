#include "elit/io/model_file.h"

#include "elit/io/context_file.h"
#include "elit/io/published_checkpoint.h"
#include "elit/io/state_dict.h"
#include "elit/models/mmdit.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/runtime/strict_json.h"

namespace elit::io {
namespace {

// `base` with every key of `overrides` replaced; a new "model" name restarts from its defaults.
nlohmann::json merge_config(nlohmann::json base, const nlohmann::json& overrides) {
  if (overrides.contains("model") && overrides["model"] != base.value("model", nlohmann::json())) {
    base = nlohmann::json::object();
  }
  for (const auto& [k, v] : overrides.items()) base[k] = v;
  return models::resolve_model_config(base);
}

// A lower bound on a config's parameter count: every transformer block holds at least its
// attention projections (4 width^2). Needs no model, so it can be checked before building one.
double min_parameter_count(const nlohmann::json& config) {
  auto width_of = [&](const nlohmann::json& c) -> double {
    for (const char* key : {"hidden_size", "embed_dim"}) {
      if (c.contains(key) && c[key].is_number()) return c[key].get<double>();
    }
    return 0;
  };
  double total = 0;
  if (config.contains("depth") && config["depth"].is_number()) {
    const double w = width_of(config);
    total += 4 * config["depth"].get<double>() * w * w;
  }
  if (config.contains("depths") && config.contains("widths") && config["depths"].is_array() &&
      config["widths"].is_array() && config["depths"].size() == config["widths"].size()) {
    for (size_t i = 0; i < config["depths"].size(); ++i) {
      const double d = config["depths"][i].get<double>(), w = config["widths"][i].get<double>();
      total += 4 * d * w * w;
    }
  }
  return total;
}

// A config (from a file's metadata or the user) that needs far more parameters than the file
// holds is refused before the model is built: a hostile `depth: 100000` would allocate first.
void check_config_fits_weights(const ModelFile& file) {
  double held = 0;
  for (const auto& [name, t] : file.weights) held += static_cast<double>(t.numel());
  const double needed = min_parameter_count(file.config);
  check(needed <= held + 1e6, "'", file.source, "': its model config needs at least ", needed,
        " parameters but the file holds ", held, " values (config ", file.config.dump(),
        ") - the config does not describe these weights");
}

}  // namespace

ModelFile read_model_file(const std::string& path, const ModelFileOptions& options) {
  ModelFile out;
  const auto overrides = options.config.value_or(nlohmann::json::object());
  if (is_torch_zip(path)) {
    auto ck = read_published_checkpoint(path, {options.weights_key});
    auto it = ck.weights.find(options.weights_key);
    std::string available;
    for (const auto& [k, _] : ck.weights) available += " " + k;
    check(it != ck.weights.end(), "'", path, "' has no '", options.weights_key,
          "' weights (top-level keys with weights:", available.empty() ? " none" : available, ")");
    out.weights = strip_wrapper_prefixes(it->second);
    out.config = models::sit_config_to_json(infer_sit_config(out.weights, ck.args, overrides));
    out.source = path + " [" + options.weights_key + "]";
    return out;
  }
  auto file = read_safetensors(path);
  out.metadata = file.metadata;
  bool has_prefixed = false;
  for (const auto& [k, _] : file.tensors) has_prefixed |= k.rfind("weight.", 0) == 0;
  // Reference/case files hold weights next to inputs and outputs under a "weight." prefix.
  out.weights =
      strip_wrapper_prefixes(has_prefixed ? select_prefix(file.tensors, "weight.") : file.tensors);
  auto meta = file.metadata.find(kModelConfigKey);
  if (meta != file.metadata.end()) {
    const auto stored =
        parse_json_strictly(meta->second, "'" + path + "' metadata '" + kModelConfigKey + "'");
    out.config = merge_config(stored, overrides);
  } else {
    check(options.config.has_value(), "'", path, "' carries no model configuration (metadata '",
          kModelConfigKey, "'); give one with --model NAME or --model-config FILE");
    out.config = models::resolve_model_config(overrides);
  }
  out.source = path;
  return out;
}

models::ModelPtr create_model(const nlohmann::json& config) {
  auto model = models::create_model(config);
  if (auto* mmdit = dynamic_cast<models::MMDiTImpl*>(model.get())) {
    const auto& path = mmdit->config().label_context_file;
    if (!path.empty()) mmdit->set_label_context(read_context_file(path), path);
  }
  return model;
}

models::ModelPtr build_model(const ModelFile& file, torch::Dtype dtype, torch::Device device) {
  check_config_fits_weights(file);
  auto model = create_model(file.config);
  load_state_dict(*model, file.weights, file.source);
  model->to(device, dtype);
  model->eval();
  return model;
}

void write_model_file(const std::string& path, const TensorMap& weights,
                      const nlohmann::json& config, Metadata extra_metadata) {
  extra_metadata[kModelConfigKey] = config.dump();
  extra_metadata["format"] = "pt";  // tensors are laid out as PyTorch's state_dict
  write_safetensors(path, weights, extra_metadata);
}

void write_model_file(const std::string& path, const models::DiffusionModel& model,
                      Metadata extra_metadata) {
  write_model_file(path, state_dict(model), model.config_json(), std::move(extra_metadata));
}

}  // namespace elit::io
