#include "elit/models/config_reader.h"

#include "elit/runtime/error.h"

namespace elit::models {

ConfigReader::ConfigReader(const nlohmann::json& j, std::string what,
                           const std::set<std::string>& known)
    : j_(j), what_(std::move(what)) {
  check(j.is_object(), what_, " must be an object, got ", j.dump());
  for (const auto& [key, value] : j.items()) {
    if (known.count(key)) continue;
    std::string list;
    for (const auto& k : known) list += " " + k;
    fail(what_, ": unknown key '", key, "'; known keys:", list);
  }
}

bool ConfigReader::has(const char* key) const {
  return j_.contains(key);
}

const nlohmann::json& ConfigReader::at(const char* key) const {
  return j_.at(key);
}

void ConfigReader::wrong(const char* key, const char* expected) const {
  fail(what_, ": key '", key, "' must be ", expected, ", got ", j_[key].dump());
}

void ConfigReader::get(const char* key, int64_t& out) const {
  if (!has(key)) return;
  if (!j_[key].is_number_integer()) wrong(key, "an integer");
  out = j_[key].get<int64_t>();
}

void ConfigReader::get(const char* key, double& out) const {
  if (!has(key)) return;
  if (!j_[key].is_number()) wrong(key, "a number");
  out = j_[key].get<double>();
}

void ConfigReader::get(const char* key, bool& out) const {
  if (!has(key)) return;
  if (!j_[key].is_boolean()) wrong(key, "true or false");
  out = j_[key].get<bool>();
}

void ConfigReader::get(const char* key, std::string& out) const {
  if (!has(key)) return;
  if (!j_[key].is_string()) wrong(key, "a string");
  out = j_[key].get<std::string>();
}

void ConfigReader::get(const char* key, std::optional<double>& out) const {
  if (!has(key)) return;
  if (j_[key].is_null()) {
    out.reset();
    return;
  }
  if (!j_[key].is_number()) wrong(key, "a number or null");
  out = j_[key].get<double>();
}

void ConfigReader::get(const char* key, std::vector<int64_t>& out) const {
  if (!has(key)) return;
  const auto& v = j_[key];
  if (!v.is_array()) wrong(key, "a list of integers");
  out.clear();
  for (const auto& e : v) {
    if (!e.is_number_integer()) wrong(key, "a list of integers");
    out.push_back(e.get<int64_t>());
  }
}

void ConfigReader::get_pair(const char* key, int64_t& first, int64_t& second) const {
  if (!has(key)) return;
  const auto& v = j_[key];
  if (v.is_number_integer()) {
    first = second = v.get<int64_t>();
    return;
  }
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer()) {
    wrong(key, "an integer or a list of two integers");
  }
  first = v[0].get<int64_t>();
  second = v[1].get<int64_t>();
}

}  // namespace elit::models
