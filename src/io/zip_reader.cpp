#include "elit/io/zip_reader.h"

#include <array>
#include <cstring>

#include "elit/runtime/error.h"

#ifdef ELIT_HAVE_ZLIB
#include <zlib.h>
#endif

namespace elit::io {
namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

uint64_t le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Deflate cannot expand data by more than ~1032x; a larger declared ratio is a lie.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kChunk = uint64_t(1) << 18;  // inflate works in 256 KiB steps

// True when [offset, offset + size) lies inside a file of `file_size` bytes (no overflow).
bool fits(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const char* data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc ^= 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc = table[(crc ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t crc32_of(const std::string& bytes) {
  return crc32_update(0, bytes.data(), bytes.size());
}

ZipReader::ZipReader(std::string path) : path_(std::move(path)) {
  file_.open(path_, std::ios::binary);
  check(file_.good(), "cannot open '", path_, "'");
  file_.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(file_.tellg());
  const std::string ctx = "zip archive '" + path_ + "'";
  check(file_size_ >= 22, ctx, ": too short (", file_size_, " bytes) to be a zip file");

  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  const uint64_t tail_size = std::min<uint64_t>(file_size_, 22 + 65535);
  const std::string tail = read_at(file_size_ - tail_size, tail_size);
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_size) - 22; i >= 0; --i) {
    if (le(tail.data() + i, 4) == kEndOfCentralDir) {
      eocd = i;
      break;
    }
  }
  check(eocd >= 0, ctx, ": no end-of-central-directory record (not a zip file, or truncated)");
  const char* e = tail.data() + eocd;
  uint64_t count = le(e + 10, 2), cd_size = le(e + 12, 4), cd_offset = le(e + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // zip64: a locator right before the classic record points at the zip64 record.
    check(eocd >= 20 && le(e - 20, 4) == kZip64Locator, ctx, ": zip64 locator missing");
    const uint64_t rec = le(e - 20 + 8, 8);
    check(fits(rec, 56, file_size_), ctx, ": zip64 end record offset out of range");
    const std::string z = read_at(rec, 56);
    check(le(z.data(), 4) == kZip64EndOfCentralDir, ctx, ": bad zip64 end record");
    count = le(z.data() + 32, 8);
    cd_size = le(z.data() + 40, 8);
    cd_offset = le(z.data() + 48, 8);
  }
  check(fits(cd_offset, cd_size, file_size_), ctx, ": central directory [", cd_offset, ", +",
        cd_size, "] runs past the end of the file (", file_size_, " bytes)");
  const std::string cd = read_at(cd_offset, cd_size);
  uint64_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    check(pos + 46 <= cd.size() && le(cd.data() + pos, 4) == kCentralHeader, ctx,
          ": corrupt central directory at entry ", i);
    const char* h = cd.data() + pos;
    Entry en;
    en.method = static_cast<uint16_t>(le(h + 10, 2));
    en.crc = static_cast<uint32_t>(le(h + 16, 4));
    en.compressed = le(h + 20, 4);
    en.uncompressed = le(h + 24, 4);
    en.local_header = le(h + 42, 4);
    const uint64_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    check(pos + 46 + name_len + extra_len + comment_len <= cd.size(), ctx,
          ": central directory entry ", i, " runs past its end");
    std::string name(h + 46, name_len);
    // zip64 extra field: 64-bit values for the fields stored as 0xFFFFFFFF, in this order.
    const char* extra = h + 46 + name_len;
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const uint64_t id = le(extra + x, 2), len = le(extra + x + 2, 2);
      check(x + 4 + len <= extra_len, ctx, ": corrupt extra field in entry '", name, "'");
      if (id == 0x0001) {
        const char* v = extra + x + 4;
        uint64_t used = 0;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          check(used + 8 <= len, ctx, ": short zip64 field in entry '", name, "'");
          field = le(v + used, 8);
          used += 8;
        };
        take(en.uncompressed);
        take(en.compressed);
        take(en.local_header);
      }
      x += 4 + len;
    }
    check(en.method == 0 || en.method == 8, ctx, ": entry '", name, "' uses compression method ",
          en.method, " (only stored and deflate are supported)");
    check_declared_sizes(en, name);
    order_.push_back(name);
    entries_[name] = en;
    pos += 46 + name_len + extra_len + comment_len;
  }
}

// Sizes come from the file: they are checked against the file before anything is allocated.
void ZipReader::check_declared_sizes(const Entry& en, const std::string& name) const {
  const std::string ctx = "zip archive '" + path_ + "' entry '" + name + "'";
  check(fits(en.local_header, 30, file_size_), ctx, ": local header offset ", en.local_header,
        " lies outside the file (", file_size_, " bytes)");
  check(en.compressed <= file_size_, ctx, ": compressed size ", en.compressed,
        " is larger than the whole file (", file_size_, " bytes)");
  if (en.method == 0) {
    check(en.uncompressed == en.compressed, ctx, ": stored entry declares ", en.uncompressed,
          " bytes but holds ", en.compressed);
  } else {
    check(en.uncompressed <= en.compressed * kMaxDeflateRatio + 1024, ctx,
          ": declares an uncompressed size of ", en.uncompressed, " bytes from ", en.compressed,
          " compressed bytes (more than deflate can expand; corrupt or hostile)");
  }
}

// Inflates the entry's raw deflate stream in bounded steps, reading the file as it goes, and
// stops as soon as the output passes the declared size: memory follows what the data really
// holds, never what a header claims.
std::string ZipReader::inflate_entry(const Entry& en, uint64_t data_offset,
                                     const std::string& ctx) const {
#ifdef ELIT_HAVE_ZLIB
  // Owns the inflate state, so that an error anywhere below (a short read throws) frees it.
  struct Inflater {
    z_stream s{};
    bool ready = false;
    ~Inflater() {
      if (ready) inflateEnd(&s);
    }
  } z;
  z_stream& s = z.s;
  z.ready = inflateInit2(&s, -MAX_WBITS) == Z_OK;
  check(z.ready, ctx, ": cannot initialise inflate");
  std::string out, in, buffer(kChunk, '\0');
  uint64_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (s.avail_in == 0 && consumed < en.compressed) {
      in = read_at(data_offset + consumed, std::min(kChunk, en.compressed - consumed));
      consumed += in.size();
      s.next_in = reinterpret_cast<Bytef*>(in.data());
      s.avail_in = static_cast<uInt>(in.size());
    }
    s.next_out = reinterpret_cast<Bytef*>(buffer.data());
    s.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&s, Z_NO_FLUSH);
    const uint64_t produced = buffer.size() - s.avail_out;
    const bool stalled = rc == Z_BUF_ERROR;  // input used up before the end of the stream
    if ((rc != Z_OK && rc != Z_STREAM_END) || stalled || out.size() + produced > en.uncompressed) {
      const uint64_t total = s.total_out;
      check(out.size() + produced <= en.uncompressed, ctx, ": inflates to more than its declared ",
            en.uncompressed, " bytes (stopped at ", total, "; corrupt or a deflate bomb)");
      fail(ctx, ": corrupt deflate data (", stalled ? "truncated" : "zlib error", " after ", total,
           " of ", en.uncompressed, " bytes)");
    }
    out.append(buffer.data(), produced);
  }
  check(out.size() == en.uncompressed, ctx, ": inflates to ", out.size(), " bytes, but declares ",
        en.uncompressed);
  return out;
#else
  (void)en;
  (void)data_offset;
  fail(ctx, ": deflate-compressed entry, but this build of elit has no zlib");
#endif
}

std::string ZipReader::read_at(uint64_t offset, uint64_t size) const {
  check(fits(offset, size, file_size_), "zip archive '", path_, "': read of ", size, " bytes at ",
        offset, " runs past the end (", file_size_, " bytes)");
  std::string out(size, '\0');
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(offset));
  file_.read(out.data(), static_cast<std::streamsize>(size));
  check(file_.good() || size == 0, "zip archive '", path_, "': read failed at ", offset);
  return out;
}

std::vector<std::string> ZipReader::names() const {
  return order_;
}

const ZipReader::Entry& ZipReader::entry(const std::string& name) const {
  auto it = entries_.find(name);
  check(it != entries_.end(), "zip archive '", path_, "' has no entry '", name, "'");
  return it->second;
}

uint64_t ZipReader::size_of(const std::string& name) const {
  return entry(name).uncompressed;
}

std::string ZipReader::read(const std::string& name) const {
  const Entry& en = entry(name);
  const std::string ctx = "zip archive '" + path_ + "' entry '" + name + "'";
  const std::string local = read_at(en.local_header, 30);
  check(le(local.data(), 4) == kLocalHeader, ctx, ": bad local header");
  const uint64_t data_offset =
      en.local_header + 30 + le(local.data() + 26, 2) + le(local.data() + 28, 2);
  std::string data =
      en.method == 0 ? read_at(data_offset, en.compressed) : inflate_entry(en, data_offset, ctx);
  check(data.size() == en.uncompressed, ctx, ": size ", data.size(), " != ", en.uncompressed);
  check(crc32_of(data) == en.crc, ctx, ": CRC mismatch (corrupt file)");
  return data;
}

}  // namespace elit::io
