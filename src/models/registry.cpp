#include "elit/models/registry.h"

#include "elit/runtime/error.h"

namespace elit::models {

const std::vector<Backbone>& backbones() {
  static const std::vector<Backbone> all = {sit_backbone(), uvit_backbone(), hdit_backbone(),
                                            mmdit_backbone()};
  return all;
}

const Backbone& backbone_for(const nlohmann::json& config) {
  check(config.is_object(), "model config must be an object, got ", config.dump());
  const auto& all = backbones();
  // Types first: the lookups below would otherwise throw nlohmann's own exceptions.
  for (const char* key : {"family", "model"}) {
    const auto it = config.find(key);
    check(it == config.end() || it->is_string(), "model config key '", key,
          "' must be a string, got ", it == config.end() ? "" : it->type_name());
  }
  if (config.contains("family")) {
    const auto family = config["family"].get<std::string>();
    for (const auto& b : all) {
      if (b.family == family) return b;
    }
    fail("unknown model family '", family, "' in config ", config.dump());
  }
  for (const auto& b : all) {
    if (b.has_published_markers && b.has_published_markers(config)) return b;
  }
  const std::string name = config.contains("model") && config["model"].is_string()
                               ? config["model"].get<std::string>()
                               : "";
  for (const auto& b : all) {
    for (const auto& prefix : b.name_prefixes) {
      if (name.rfind(prefix, 0) == 0) return b;
    }
  }
  return all.front();  // published SiT constructor keys without a name
}

std::string model_family(const nlohmann::json& config) {
  // A config may name a family that is not registered here (a caller's own model): say it as is.
  if (config.is_object() && config.contains("family")) return config["family"].get<std::string>();
  return backbone_for(config).family;
}

nlohmann::json resolve_model_config(const nlohmann::json& config) {
  return backbone_for(config).resolve_config(config);
}

ModelPtr create_model(const nlohmann::json& config) {
  return backbone_for(config).create(config);
}

nlohmann::json named_model_config(const std::string& name) {
  return resolve_model_config({{"model", name}});
}

std::vector<std::string> named_models() {
  std::vector<std::string> names;
  for (const auto& b : backbones()) {
    const auto more = b.named_models();
    names.insert(names.end(), more.begin(), more.end());
  }
  return names;
}

}  // namespace elit::models
