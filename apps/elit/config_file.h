// Configuration files for the CLI: JSON or YAML, read into one JSON tree so that every config
// struct has a single reader.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace elit::app {

// Reads a .json, .yaml or .yml file. Throws elit::Error naming the file and the parse problem.
nlohmann::json read_config_file(const std::string& path);

// Parses YAML text into JSON: scalars become integers, floats, booleans or null where YAML would
// read them so (plain, unquoted scalars), strings otherwise.
nlohmann::json yaml_to_json(const std::string& text, const std::string& origin);

}  // namespace elit::app
