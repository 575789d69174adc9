// The message of the elit::Error a call throws, or "" when it throws none: for tests that check
// an error names the file, key or value at fault.
#pragma once
#include <functional>
#include <string>

#include "elit/runtime/error.h"

namespace elit::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const elit::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace elit::testing
