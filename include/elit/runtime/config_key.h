// One configuration key as help texts show it: what ConfigSchema<T>::describe gives for every key
// of a config struct (training, each model family).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace elit {

struct ConfigKey {
  std::string name;
  nlohmann::json default_value;  // the struct's default, as it is written back
  std::string type;  // "int", "float", "string", "bool", "object", "list"; "?" suffix: nullable
  std::string help;  // the doc, with the value rule in words when there is one
  bool published = true;  // a key of the published code's configs (false: elit's own)
};

}  // namespace elit
