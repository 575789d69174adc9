#include "elit/models/registry.h"

#include "elit/models/hdit.h"
#include "elit/models/mmdit.h"
#include "elit/models/sit.h"
#include "elit/models/uvit.h"
#include "elit/runtime/error.h"

namespace elit::models {

std::string model_family(const nlohmann::json& config) {
  check(config.is_object(), "model config must be an object, got ", config.dump());
  if (config.contains("family")) return config["family"].get<std::string>();
  // The published config files' own markers: k-diffusion's model "type", U-ViT's nnet "name".
  if (config.value("type", std::string()) == "image_transformer_v2") return "hdit";
  if (config.value("name", std::string()) == "uvit") return "uvit";
  const std::string name = config.value("model", std::string());
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("SiT-") || starts("ELIT-SiT-")) return "sit";
  if (starts("UViT-") || starts("ELIT-UViT-")) return "uvit";
  if (starts("HDiT-") || starts("ELIT-HDiT-")) return "hdit";
  if (starts("MMDiT-") || starts("ELIT-MMDiT-")) return "mmdit";
  // Published SiT constructor keys without a name: a SiT.
  return "sit";
}

nlohmann::json resolve_model_config(const nlohmann::json& config) {
  const std::string family = model_family(config);
  if (family == "sit") {
    auto c = sit_config_from_json(config);
    c.validate();
    return sit_config_to_json(c);
  }
  if (family == "mmdit") {
    auto c = mmdit_config_from_json(config);
    c.validate();
    return mmdit_config_to_json(c);
  }
  if (family == "uvit") {
    auto c = uvit_config_from_json(config);
    c.validate();
    return uvit_config_to_json(c);
  }
  if (family == "hdit") {
    auto c = hdit_config_from_json(config);
    c.validate();
    return hdit_config_to_json(c);
  }
  fail("unknown model family '", family, "' in config ", config.dump());
}

ModelPtr create_model(const nlohmann::json& config) {
  const std::string family = model_family(config);
  if (family == "sit") return SiT(sit_config_from_json(config)).ptr();
  if (family == "mmdit") return MMDiT(mmdit_config_from_json(config)).ptr();
  if (family == "uvit") return UViT(uvit_config_from_json(config)).ptr();
  if (family == "hdit") return HDiT(hdit_config_from_json(config)).ptr();
  fail("unknown model family '", family, "' in config ", config.dump());
}

nlohmann::json named_model_config(const std::string& name) {
  return resolve_model_config({{"model", name}});
}

std::vector<std::string> named_models() {
  auto names = named_sit_models();
  for (const auto& more : {named_uvit_models(), named_hdit_models(), named_mmdit_models()}) {
    names.insert(names.end(), more.begin(), more.end());
  }
  return names;
}

}  // namespace elit::models
