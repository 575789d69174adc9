// The project's exception: every library error names the offending file/key/value and what was
// expected. The CLI catches it at main, prints one line and exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace elit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// Throws elit::Error with the concatenation of `parts`.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

// Throws elit::Error with the message when the condition does not hold.
template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace elit
