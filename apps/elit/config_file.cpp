#include "config_file.h"

#include <regex>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"

#ifdef ELIT_HAVE_YAML
#include <yaml-cpp/yaml.h>
#endif

namespace elit::app {
namespace {

#ifdef ELIT_HAVE_YAML
nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  static const std::regex int_re(R"(^[-+]?[0-9]+$)");
  static const std::regex float_re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(s, int_re)) return std::stoll(s);
  if (std::regex_match(s, float_re)) return std::stod(s);
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "~" || s == "Null" || s == "NULL" || s.empty()) return nullptr;
  return s;
}

nlohmann::json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(node_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      auto obj = nlohmann::json::object();
      for (const auto& kv : node) obj[kv.first.as<std::string>()] = node_to_json(kv.second);
      return obj;
    }
  }
  return nullptr;
}
#endif

}  // namespace

nlohmann::json yaml_to_json(const std::string& text, const std::string& origin) {
#ifdef ELIT_HAVE_YAML
  try {
    return node_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    fail("cannot parse YAML '", origin, "': ", e.what());
  }
#else
  fail("cannot read '", origin, "': this build of elit has no YAML support (use JSON)");
#endif
}

nlohmann::json read_config_file(const std::string& path) {
  const std::string text = read_file(path);
  const bool is_json = path.size() >= 5 && path.substr(path.size() - 5) == ".json";
  if (!is_json) return yaml_to_json(text, path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("cannot parse JSON '", path, "': ", e.what());
  }
}

}  // namespace elit::app
