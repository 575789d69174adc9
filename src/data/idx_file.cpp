#include "elit/data/idx_file.h"

#include <filesystem>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/checked_size.h"
#include "elit/runtime/error.h"
#include "elit/runtime/gzip.h"

namespace elit::data {
namespace {
constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 30;  // Fashion-MNIST's largest file: 47 MB
}  // namespace

torch::Tensor parse_idx(std::string bytes, const std::string& origin) {
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
      static_cast<uint8_t>(bytes[1]) == 0x8b) {
    bytes = gunzip(bytes, origin, kMaxIdxBytes);
  }
  check(bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08, "'", origin,
        "' is not an unsigned-byte IDX file");
  const int dims = static_cast<uint8_t>(bytes[3]);
  check(dims >= 1 && dims <= 4 && bytes.size() >= 4 + 4 * static_cast<size_t>(dims), "'", origin,
        "': bad IDX header");
  std::vector<int64_t> shape;
  for (int d = 0; d < dims; ++d) {
    int64_t n = 0;
    for (int b = 0; b < 4; ++b) n = (n << 8) | static_cast<uint8_t>(bytes[4 + 4 * d + b]);
    // A zero dimension would let the others be anything (the count is 0) and overflow the
    // strides libtorch computes from them.
    check(n >= 1, "'", origin, "': IDX dimension ", d, " is 0");
    shape.push_back(n);
  }
  const uint64_t count = checked_numel(shape, "IDX file '" + origin + "' shape");
  const size_t offset = 4 + 4 * static_cast<size_t>(dims);
  check(bytes.size() - offset == count, "'", origin, "': ", bytes.size() - offset,
        " bytes of data, ", count, " expected (truncated?)");
  return torch::from_blob(bytes.data() + offset, shape, torch::kUInt8).clone();
}

torch::Tensor read_idx(const std::string& path) {
  check(std::filesystem::exists(path), "dataset file '", path,
        "' not found (Fashion-MNIST comes from the Debian package dataset-fashion-mnist: "
        "run scripts/setup.sh)");
  return parse_idx(read_file(path), path);
}

}  // namespace elit::data
