// The backbone registry: every family registers itself once (name, config reader, factory, the
// names of its variants, the spelling of its input shape), and everything outside models/ asks the
// registry instead of knowing the families. A new backbone defines its `Backbone` next to its model
// (see sit.cpp) and adds one line to the table in registry.cpp.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/models/diffusion_model.h"
#include "elit/runtime/config_key.h"

namespace elit::models {

// A dataset's example shape: [channels, size, size] images with labels in [0, num_classes),
// and the names of those classes (a text-conditioned family captions them).
struct InputShape {
  int64_t size = 0;
  int64_t channels = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
};

struct Backbone {
  std::string family;                      // "sit", "uvit", "hdit", "mmdit"
  std::vector<std::string> name_prefixes;  // model names of this family: "SiT-", "ELIT-SiT-"
  // True for a published config file of this family recognised by its own markers (k-diffusion's
  // "type", U-ViT's "name"); unset for a family without such markers.
  std::function<bool(const nlohmann::json&)> has_published_markers;
  // The complete, validated configuration (defaults filled in); throws for unknown keys.
  std::function<nlohmann::json(const nlohmann::json&)> resolve_config;
  // A new model with the family's published initialisation (torch's global RNG).
  std::function<ModelPtr(const nlohmann::json&)> create;
  std::function<std::vector<std::string>()> named_models;
  // Every key of the family's configuration (help texts).
  std::function<std::vector<ConfigKey>()> config_keys;
  // The configuration keys of this family that give a dataset's shape (and classes).
  std::function<nlohmann::json(const InputShape&)> input_config;
};

// Every registered family; the first (SiT) also takes published SiT constructor keys without a
// model name.
const std::vector<Backbone>& backbones();
// The family of a config: its "family" key, else its published markers, else its model name.
const Backbone& backbone_for(const nlohmann::json& config);

// "sit", "uvit", "hdit", "mmdit" for a config (by "family", else by the "model" name).
std::string model_family(const nlohmann::json& config);

// The complete, validated configuration (defaults filled in) without building the model.
nlohmann::json resolve_model_config(const nlohmann::json& config);

// A new model with the family's published initialisation (torch's global RNG).
ModelPtr create_model(const nlohmann::json& config);

// The full configuration of a named model ({"model": name} resolved with its defaults).
nlohmann::json named_model_config(const std::string& name);
std::vector<std::string> named_models();

// Each family's registration, defined next to its model.
Backbone sit_backbone();
Backbone uvit_backbone();
Backbone hdit_backbone();
Backbone mmdit_backbone();

}  // namespace elit::models
