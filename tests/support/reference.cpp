#include "support/reference.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace elit::testing {

std::string reference_dir_candidate() {
  const char* env = std::getenv("ELIT_REFERENCE_DIR");
  return env && *env ? env : ELIT_DEFAULT_REFERENCE_DIR;
}

std::string reference_dir() {
  const auto dir = reference_dir_candidate();
  return std::filesystem::exists(std::filesystem::path(dir) / "manifest.json") ? dir : "";
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

nlohmann::json reference_manifest() {
  std::ifstream in(std::filesystem::path(reference_dir()) / "manifest.json");
  return nlohmann::json::parse(in);
}

double max_rel_error(const torch::Tensor& a, const torch::Tensor& b, double floor) {
  auto a64 = a.detach().to(torch::kCPU, torch::kFloat64);
  auto b64 = b.detach().to(torch::kCPU, torch::kFloat64);
  EXPECT_EQ(a64.sizes(), b64.sizes());
  const double scale = std::max(b64.abs().max().item<double>(), floor);
  return (a64 - b64).abs().max().item<double>() / scale;
}

std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() /
                   ("elit_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace elit::testing
