// Typed access to one model configuration object (JSON/YAML parsed to JSON), shared by the
// backbone config readers: every key is checked against the reader's known list, and a value of
// the wrong type is an error naming the key, the value and what was expected.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace elit::models {

class ConfigReader {
 public:
  // `what` names the config in messages ("U-ViT config"). Throws elit::Error on an unknown key.
  ConfigReader(const nlohmann::json& j, std::string what, const std::set<std::string>& known);
  bool has(const char* key) const;
  // Each getter leaves `out` unchanged when the key is absent.
  void get(const char* key, int64_t& out) const;
  void get(const char* key, double& out) const;
  void get(const char* key, bool& out) const;
  void get(const char* key, std::string& out) const;
  void get(const char* key, std::optional<double>& out) const;  // null resets
  void get(const char* key, std::vector<int64_t>& out) const;
  // [a, b] or a single integer a (meaning [a, a]), as k-diffusion's input_size / patch_size.
  void get_pair(const char* key, int64_t& first, int64_t& second) const;
  const nlohmann::json& at(const char* key) const;

 private:
  [[noreturn]] void wrong(const char* key, const char* expected) const;
  const nlohmann::json& j_;
  std::string what_;
};

}  // namespace elit::models
