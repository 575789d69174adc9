// Access to ../shared/reference (override with ELIT_REFERENCE_DIR) for parity tests.
// Missing reference data fails the test in CI (CI=true, where the folder always exists) and is a
// visible skip elsewhere; a parity test never passes without comparing.
#pragma once
#include <gtest/gtest.h>
#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <string>

namespace elit::testing {

// The reference folder, or "" when it does not exist.
std::string reference_dir();
std::string reference_dir_candidate();  // where it looked
bool in_ci();
nlohmann::json reference_manifest();

// max |a - b| / max(max |b|, floor): the relative error measure of every parity test. `floor`
// keeps quantities that are mathematically zero (stored as round-off) from dividing by ~0.
double max_rel_error(const torch::Tensor& a, const torch::Tensor& b, double floor = 1e-30);

// A fresh temporary folder (removed at process exit is not needed: under the build tree).
std::string temp_dir(const std::string& name);

}  // namespace elit::testing

#define ELIT_REQUIRE_REFERENCE(dir)                                                       \
  const std::string dir = ::elit::testing::reference_dir();                               \
  if (dir.empty()) {                                                                      \
    if (::elit::testing::in_ci()) {                                                       \
      FAIL() << "reference data missing at " << ::elit::testing::reference_dir_candidate() \
             << " (CI must have ../shared/reference)";                                    \
    } else {                                                                              \
      GTEST_SKIP() << "reference data not found at "                                      \
                   << ::elit::testing::reference_dir_candidate()                          \
                   << " (set ELIT_REFERENCE_DIR); parity not checked";                    \
    }                                                                                     \
  }
