#include "elit/runtime/config_schema.h"

#include <cmath>

namespace elit::config_value {

void read(const nlohmann::json& v, int64_t& out, const std::string& where) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return;
  }
  // YAML reads 1e5 and 4.0 as floats: whole numbers in range are integers too.
  const bool whole = v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
                     std::fabs(v.get<double>()) < 9.2e18;
  check(whole, where, " must be an integer, got ", v.dump());
  out = static_cast<int64_t>(v.get<double>());
}

void read(const nlohmann::json& v, double& out, const std::string& where) {
  check(v.is_number(), where, " must be a number, got ", v.dump());
  out = v.get<double>();
}

void read(const nlohmann::json& v, bool& out, const std::string& where) {
  check(v.is_boolean(), where, " must be true or false, got ", v.dump());
  out = v.get<bool>();
}

void read(const nlohmann::json& v, std::string& out, const std::string& where) {
  check(v.is_string(), where, " must be a string, got ", v.dump());
  out = v.get<std::string>();
}

void read(const nlohmann::json& v, std::vector<int64_t>& out, const std::string& where) {
  check(v.is_array(), where, " must be a list of integers, got ", v.dump());
  std::vector<int64_t> values(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    read(v[i], values[i], where + " entry " + std::to_string(i));
  out = std::move(values);
}

void read(const nlohmann::json& v, std::vector<double>& out, const std::string& where) {
  check(v.is_array(), where, " must be a list of numbers, got ", v.dump());
  std::vector<double> values(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    read(v[i], values[i], where + " entry " + std::to_string(i));
  out = std::move(values);
}

void read(const nlohmann::json& v, std::vector<std::string>& out, const std::string& where) {
  check(v.is_array(), where, " must be a list of strings, got ", v.dump());
  std::vector<std::string> values(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    read(v[i], values[i], where + " entry " + std::to_string(i));
  out = std::move(values);
}

void read(const nlohmann::json& v, nlohmann::json& out, const std::string& where) {
  check(v.is_object(), where, " must be a mapping of keys to values, got ", v.dump());
  out = v;
}

}  // namespace elit::config_value
