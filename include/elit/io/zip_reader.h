// Read-only zip archive access for the containers the project reads: torch.save files (stored
// entries) and numpy .npz files (stored or deflate, zip64 as np.savez writes it).
// Entries are read on demand; every offset and size is checked against the file.
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace elit::io {

class ZipReader {
 public:
  // Opens and indexes the archive; throws elit::Error naming the file when it is not a valid zip.
  explicit ZipReader(std::string path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // in central-directory order
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  uint64_t size_of(const std::string& name) const;  // uncompressed size
  // The entry's bytes, decompressed and CRC-checked.
  std::string read(const std::string& name) const;

 private:
  struct Entry {
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0, uncompressed = 0, local_header = 0;
  };
  const Entry& entry(const std::string& name) const;
  void check_declared_sizes(const Entry& en, const std::string& name) const;
  std::string inflate_entry(const Entry& en, uint64_t data_offset, const std::string& ctx) const;
  std::string read_at(uint64_t offset, uint64_t size) const;

  std::string path_;
  uint64_t file_size_ = 0;
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
  mutable std::ifstream file_;
};

// CRC-32 (IEEE 802.3, as zip uses it).
uint32_t crc32_of(const std::string& bytes);
// The same, continued over more bytes: crc32_update(crc32_update(0, a), b) == crc32_of(a + b).
uint32_t crc32_update(uint32_t crc, const char* data, size_t size);

}  // namespace elit::io
