// gzip decompression (zlib) for the dataset files.
#pragma once
#include <cstdint>
#include <string>

namespace elit {

// Decompresses a gzip stream; `origin` names it in errors. Throws elit::Error when elit was built
// without zlib, the data is corrupt, or it inflates past `max_bytes` (it stops there: a gzip bomb
// costs no more memory than that).
std::string gunzip(const std::string& bytes, const std::string& origin,
                   uint64_t max_bytes = uint64_t(4) << 30);

}  // namespace elit
