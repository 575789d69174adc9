#include "elit/runtime/gzip.h"

#include "elit/runtime/error.h"

#ifdef ELIT_HAVE_ZLIB
#include <zlib.h>
#endif

namespace elit {

std::string gunzip(const std::string& bytes, const std::string& origin, uint64_t max_bytes) {
#ifdef ELIT_HAVE_ZLIB
  z_stream s{};
  check(inflateInit2(&s, 16 + MAX_WBITS) == Z_OK, "cannot initialise gzip for '", origin, "'");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    s.next_out = reinterpret_cast<Bytef*>(buffer);
    s.avail_out = sizeof buffer;
    rc = inflate(&s, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&s);
      fail("corrupt gzip data in '", origin, "' (zlib error ", rc, ")");
    }
    out.append(buffer, sizeof buffer - s.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&s);
      fail("gzip data in '", origin, "' inflates to more than ", max_bytes,
           " bytes (stopped there: corrupt, or a gzip bomb)");
    }
    if (rc == Z_OK && s.avail_in == 0 && s.avail_out != 0) {
      inflateEnd(&s);
      fail("truncated gzip data in '", origin, "'");
    }
  }
  inflateEnd(&s);
  return out;
#else
  (void)max_bytes;
  fail("cannot read '", origin, "': this build of elit has no zlib (gzip)");
#endif
}

}  // namespace elit
