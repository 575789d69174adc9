// Sizes read from files are multiplied only through these: a shape whose element count or byte
// size overflows 64 bits gets an error naming where it came from, before anything is allocated.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "elit/runtime/error.h"

namespace elit {

// Number of elements of `shape`; `ctx` names the file and field in the error.
inline uint64_t checked_numel(const std::vector<int64_t>& shape, const std::string& ctx) {
  uint64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    check(d >= 0, ctx, ": negative dimension ", d);
    empty |= d == 0;
  }
  if (empty) return 0;
  for (int64_t d : shape) {
    check(static_cast<uint64_t>(d) <= std::numeric_limits<int64_t>::max() / n, ctx,
          ": shape's element count overflows 64 bits (a corrupt or hostile size)");
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

// Bytes of a `shape` array of `element_size`-byte elements.
inline uint64_t checked_nbytes(const std::vector<int64_t>& shape, uint64_t element_size,
                               const std::string& ctx) {
  const uint64_t n = checked_numel(shape, ctx);
  check(element_size == 0 || n <= std::numeric_limits<int64_t>::max() / element_size, ctx,
        ": byte size of ", n, " elements of ", element_size, " bytes overflows 64 bits");
  return n * element_size;
}

}  // namespace elit
