#include "elit/runtime/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "elit/runtime/error.h"

namespace elit {
namespace {

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort for folders on file systems that refuse it
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "cannot open '", path, "': ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  check(size >= 0, "cannot read the size of '", path, "'");
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), size);
  check(in.good() || size == 0, "cannot read '", path, "' (", size, " bytes expected)");
  return bytes;
}

void replace_file_atomically(const std::string& path,
                             const std::function<void(const std::string&)>& writer) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp = (folder / ("." + target.filename().string() + ".tmp." +
                                     std::to_string(::getpid())))
                              .string();
  try {
    writer(tmp);
    fsync_path(tmp, /*directory=*/false);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    fail("cannot move '", tmp, "' to '", path, "': ", reason);
  }
  fsync_path(folder.string(), /*directory=*/true);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  replace_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    check(out.good(), "cannot create '", tmp, "': ", std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    check(out.good(), "cannot write '", tmp, "' (disk full?)");
  });
}

}  // namespace elit
