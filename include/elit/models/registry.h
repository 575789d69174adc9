// Builds any backbone from its configuration JSON. The family comes from the "family" key or the
// model name's prefix ("SiT-", "ELIT-SiT-", ...); each family's reader rejects unknown keys.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/models/diffusion_model.h"

namespace elit::models {

// "sit", "uvit", "hdit", "mmdit" for a config (by "family", else by the "model" name).
std::string model_family(const nlohmann::json& config);

// The complete, validated configuration (defaults filled in) without building the model.
nlohmann::json resolve_model_config(const nlohmann::json& config);

// A new model with the family's published initialisation (torch's global RNG).
ModelPtr create_model(const nlohmann::json& config);

// The full configuration of a named model ({"model": name} resolved with its defaults).
nlohmann::json named_model_config(const std::string& name);
std::vector<std::string> named_models();

}  // namespace elit::models
