// Hand-made hostile file contents for the hardening tests: zip archives with lying headers, raw
// deflate and gzip streams, and deep or self-referencing pickles. No zlib needed: deflate data
// is written as stored blocks, which every inflater accepts.
#pragma once
#include <cstdint>
#include <string>

#include "elit/io/zip_reader.h"

namespace elit::testing {

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A raw deflate stream of stored (uncompressed) blocks holding `data`.
inline std::string deflate_stored(const std::string& data) {
  std::string out;
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, data.size() - pos);
    out.push_back(pos + n == data.size() ? 1 : 0);  // BFINAL, BTYPE 00
    put_le(out, n, 2);
    put_le(out, ~n & 0xffff, 2);
    out.append(data, pos, n);
    pos += n;
  } while (pos < data.size());
  return out;
}

// A gzip member around `data` (stored deflate blocks).
inline std::string gzip_stored(const std::string& data) {
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += deflate_stored(data);
  put_le(out, io::crc32_of(data), 4);
  put_le(out, data.size() & 0xffffffffu, 4);
  return out;
}

// A one-entry zip archive. `method` 0 stores `payload`, 8 marks it deflated (give deflate
// bytes). `declared` is the uncompressed size written in the headers (in a zip64 extra field
// when it does not fit 32 bits); `crc` the CRC they carry.
inline std::string one_entry_zip(const std::string& name, const std::string& payload, int method,
                                 uint64_t declared, uint32_t crc) {
  const bool zip64 = declared >= 0xffffffffu;
  std::string extra;
  if (zip64) {
    put_le(extra, 0x0001, 2);
    put_le(extra, 16, 2);
    put_le(extra, declared, 8);
    put_le(extra, payload.size(), 8);
  }
  auto sizes = [&](std::string& out) {
    put_le(out, crc, 4);
    put_le(out, zip64 ? 0xffffffffu : payload.size(), 4);
    put_le(out, zip64 ? 0xffffffffu : declared, 4);
  };
  std::string zip;
  put_le(zip, 0x04034b50, 4);
  put_le(zip, 45, 2);
  put_le(zip, 0, 2);
  put_le(zip, method, 2);
  put_le(zip, 0, 4);  // time, date
  sizes(zip);
  put_le(zip, name.size(), 2);
  put_le(zip, extra.size(), 2);
  zip += name + extra + payload;
  const uint64_t cd_offset = zip.size();
  put_le(zip, 0x02014b50, 4);
  put_le(zip, 45, 2);
  put_le(zip, 45, 2);
  put_le(zip, 0, 2);
  put_le(zip, method, 2);
  put_le(zip, 0, 4);
  sizes(zip);
  put_le(zip, name.size(), 2);
  put_le(zip, extra.size(), 2);
  put_le(zip, 0, 2);  // comment
  put_le(zip, 0, 2);  // disk
  put_le(zip, 0, 2);  // internal attributes
  put_le(zip, 0, 4);  // external attributes
  put_le(zip, 0, 4);  // local header offset
  zip += name + extra;
  const uint64_t cd_size = zip.size() - cd_offset;
  put_le(zip, 0x06054b50, 4);
  put_le(zip, 0, 4);
  put_le(zip, 1, 2);
  put_le(zip, 1, 2);
  put_le(zip, cd_size, 4);
  put_le(zip, cd_offset, 4);
  put_le(zip, 0, 2);
  return zip;
}

// A protocol-2 pickle of `depth` lists nested inside each other (APPENDs after all lists).
inline std::string nested_list_pickle(size_t depth, bool terminated = true) {
  std::string p("\x80\x02", 2);
  p.append(depth, ']');
  p.append(depth - 1, 'a');
  if (terminated) p += '.';
  return p;
}

// A protocol-2 pickle of `depth` dicts nested through the key 1.
inline std::string nested_dict_pickle(size_t depth) {
  std::string p("\x80\x02", 2);
  for (size_t i = 0; i < depth; ++i) p += i + 1 < depth ? std::string("}K\x01", 3) : "}";
  p.append(depth - 1, 's');
  p += '.';
  return p;
}

}  // namespace elit::testing
