// libFuzzer target: the zip reader (.pt and .npz containers) on a whole archive: the index, then
// every entry read (stored or inflated, sizes and CRC checked), then the .npz view of it.
#include <unistd.h>

#include <fstream>

#include "elit/io/npz.h"
#include "elit/io/zip_reader.h"
#include "fuzz_common.h"

namespace {
// The reader works on files: one per process, rewritten for each input (in /dev/shm when there).
const std::string& scratch_path() {
  static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                  "/elit-zip-fuzz-" + std::to_string(getpid()) + ".zip";
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  elit::fuzz::expect_clean([&] {
    elit::io::ZipReader zip(scratch_path());
    for (const auto& name : zip.names()) {
      elit::fuzz::expect_clean([&] { zip.read(name); });
    }
  });
  elit::fuzz::expect_clean([&] { elit::io::read_npz(scratch_path()); });
  return 0;
}
