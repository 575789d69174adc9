#include "models/case_file.h"

#include <algorithm>
#include <filesystem>

namespace elit::testing {

std::vector<std::string> CaseFile::published_keys() const {
  std::vector<std::string> keys = entry["state_dict_keys"];
  std::sort(keys.begin(), keys.end());
  return keys;
}

CaseFile read_case_file(const std::string& dir, const nlohmann::json& entry) {
  CaseFile c;
  c.entry = entry;
  const auto file = std::filesystem::path(dir) / entry["file"].get<std::string>();
  c.tensors = io::read_safetensors(file.string()).tensors;
  c.weights = io::select_prefix(c.tensors, "weight.");
  return c;
}

}  // namespace elit::testing
