// Atomic file replacement: readers see either the old file or the complete new one, never a torn
// write (temp file in the same folder, fsync, rename, fsync of the folder).
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace elit {

// Writes `bytes` to `path` atomically.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Writes through `writer` into a temporary file next to `path`, then atomically renames it.
// `writer` receives the temporary path. If it throws, the temporary file is removed and `path`
// is left untouched.
void replace_file_atomically(const std::string& path,
                             const std::function<void(const std::string& tmp_path)>& writer);

// Reads a whole file; throws elit::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace elit
