// gzip decompression (zlib) for the dataset files.
#pragma once
#include <string>

namespace elit {

// Decompresses a gzip stream; `origin` names it in errors. Throws elit::Error when elit was built
// without zlib or the data is corrupt.
std::string gunzip(const std::string& bytes, const std::string& origin);

}  // namespace elit
