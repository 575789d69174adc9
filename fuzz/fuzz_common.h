// Shared by the libFuzzer targets: a parser may reject input only with elit::Error (or the
// libraries' own documented exceptions, mapped to elit::Error by the parser); anything else
// escaping, a crash, a sanitizer report, a leak or a timeout is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "elit/runtime/error.h"

namespace elit::fuzz {

inline std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `parse` and swallows the clean rejections (elit::Error): those are the expected outcome
// for almost every fuzz input.
template <typename F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const elit::Error&) {
  }
}

}  // namespace elit::fuzz
