#include "elit/io/image.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"

// stb is header-only: its implementation is compiled in this one file.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>

namespace elit::io {
namespace {
// Decoded bytes: an 8k x 8k RGBA image. stb's own buffers can be a few times this (16-bit PNGs,
// progressive JPEG coefficients), so the bound keeps a hostile header well under 2 GB.
constexpr uint64_t kMaxImageBytes = uint64_t(1) << 28;
// No image format packs more than this many decoded bytes into one file byte (deflate's limit is
// 1032, run-length TGA/BMP ~128-384, flat JPEG a few hundred), so a header that claims more
// describes pixels the file cannot hold; run-length decoders would fill them from nothing.
constexpr uint64_t kMaxExpansion = 2048;
constexpr uint64_t kSmallImageBytes = uint64_t(1) << 20;  // always allowed
// stb grows its PNG data buffer by each chunk's declared length before reading the chunk, so a
// small file can make it allocate gigabytes: every chunk must fit in the file first. An empty
// IDAT chunk before any data makes stb copy zero bytes to a null buffer (undefined behaviour,
// found by fuzz_image); such chunks carry nothing, so the PNG is returned without them.
// Returns the bytes stb should decode: `bytes` itself, or a copy without the empty IDAT chunks.
std::string_view checked_png(const std::string& bytes, const std::string& origin,
                             std::string& cleaned) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.compare(0, 8, kSignature) != 0) return bytes;  // not a PNG
  std::vector<std::pair<uint64_t, uint64_t>> empty_idat;   // [begin, end) of each
  uint64_t at = 8;
  while (at + 8 <= bytes.size()) {
    uint64_t length = 0;
    for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<uint8_t>(bytes[at + i]);
    const std::string type = bytes.substr(at + 4, 4);
    check(at + 12 + length <= bytes.size(), "image '", origin, "': PNG chunk '", type,
          "' declares ", length, " bytes, more than the ", bytes.size() - at,
          " left in the file (truncated or corrupt)");
    if (type == "IEND") break;
    if (type == "IDAT" && length == 0) empty_idat.emplace_back(at, at + 12);
    at += 12 + length;
  }
  if (empty_idat.empty()) return bytes;
  cleaned.clear();
  uint64_t from = 0;
  for (const auto& [begin, end] : empty_idat) {
    cleaned.append(bytes, from, begin - from);
    from = end;
  }
  cleaned.append(bytes, from, std::string::npos);
  return cleaned;
}

// This stb writes past its Huffman size table when a JPEG DHT segment declares more than 256
// codes for one table (found by fuzz_image under UBSan; later stb versions check it): every
// table in every DHT segment, before and between scans, is checked first.
void check_jpeg_huffman_tables(const std::string& bytes, const std::string& origin) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  // stb, like the JPEG standard, skips 0xFF fill bytes before a marker, the first one too.
  size_t at = 1;
  while (at < bytes.size() && byte(at) == 0xFF) ++at;
  if (bytes.empty() || byte(0) != 0xFF || at >= bytes.size() || byte(at) != 0xD8) return;
  ++at;
  while (at + 4 <= bytes.size()) {
    if (byte(at) != 0xFF) {  // entropy-coded data after a scan: find the next marker
      ++at;
      continue;
    }
    const uint8_t marker = byte(at + 1);
    if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {
      ++at;  // fill byte, stuffed zero, restart marker or SOI: no segment
      continue;
    }
    if (marker == 0xD9) return;  // EOI
    const size_t length = (size_t{byte(at + 2)} << 8) | byte(at + 3);
    const size_t end = std::min(bytes.size(), at + 2 + length);
    if (marker == 0xC4) {
      // stb reads a truncated segment's missing bytes as zeros: so does this check.
      const auto byte_or_zero = [&](size_t i) { return i < bytes.size() ? byte(i) : uint8_t{0}; };
      for (size_t p = at + 4; p < end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += byte_or_zero(p + i);
        check(codes <= 256, "image '", origin, "': a JPEG Huffman table declares ", codes,
              " codes (at most 256: corrupt)");
        p += 17 + codes;
      }
    }
    at = std::max(end, at + 2);
  }
}

// stb reads a PNM header's numbers into an int without an overflow check (undefined behaviour,
// found by fuzz_image): width, height and maxval must have at most 9 digits.
void check_pnm_header(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  size_t at = 2;
  for (int number = 0; number < 3; ++number) {
    while (at < bytes.size() &&
           (std::isspace(static_cast<unsigned char>(bytes[at])) || bytes[at] == '#')) {
      if (bytes[at] == '#') {  // a comment runs to the end of the line
        while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
      } else {
        ++at;
      }
    }
    size_t digits = 0;
    while (at < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[at]))) {
      ++digits;
      ++at;
    }
    check(digits <= 9, "image '", origin, "': a PNM header number has ", digits,
          " digits (more than 9: corrupt)");
  }
}

}  // namespace

torch::Tensor decode_image(const std::string& bytes, const std::string& origin) {
  check(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()), "image '", origin,
        "' is larger than 2 GB");
  std::string cleaned;
  const std::string_view input = checked_png(bytes, origin, cleaned);
  check_pnm_header(bytes, origin);
  check_jpeg_huffman_tables(bytes, origin);
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  const int size = static_cast<int>(input.size());
  int w = 0, h = 0, c = 0;
  // The header's dimensions are checked before stb allocates the pixels.
  check(stbi_info_from_memory(data, size, &w, &h, &c) != 0, "cannot decode image '", origin,
        "': ", stbi_failure_reason());
  check(w > 0 && h > 0 && static_cast<uint64_t>(w) * static_cast<uint64_t>(h) * c <= kMaxImageBytes,
        "image '", origin, "' declares ", w, "x", h, "x", c, " pixels (more than ",
        kMaxImageBytes >> 20, " MB decoded)");
  const uint64_t decoded = static_cast<uint64_t>(w) * static_cast<uint64_t>(h) * c;
  check(decoded <= std::max(kSmallImageBytes, kMaxExpansion * bytes.size()), "image '", origin,
        "' declares ", w, "x", h, "x", c, " pixels, more than ", bytes.size(),
        " bytes can hold in any image format (truncated or corrupt)");
  unsigned char* pixels = stbi_load_from_memory(data, size, &w, &h, &c, 0);
  check(pixels != nullptr, "cannot decode image '", origin, "': ", stbi_failure_reason());
  auto out = torch::from_blob(pixels, {h, w, c}, torch::kUInt8).clone();
  stbi_image_free(pixels);
  return out;
}

torch::Tensor read_image(const std::string& path) {
  return decode_image(read_file(path), path);
}

std::string encode_png(const torch::Tensor& image) {
  check(image.dim() == 3 && image.scalar_type() == torch::kUInt8 &&
            (image.size(2) == 1 || image.size(2) == 3 || image.size(2) == 4),
        "PNG encoding needs uint8 [H, W, C] with C in {1, 3, 4}, got ", image.scalar_type(), " ",
        image.sizes());
  auto img = image.contiguous().cpu();
  const int h = static_cast<int>(img.size(0)), w = static_cast<int>(img.size(1));
  const int c = static_cast<int>(img.size(2));
  int len = 0;
  unsigned char* png = stbi_write_png_to_mem(img.data_ptr<uint8_t>(), w * c, w, h, c, &len);
  check(png != nullptr, "cannot encode a ", h, "x", w, "x", c, " PNG");
  const std::string bytes(reinterpret_cast<char*>(png), static_cast<size_t>(len));
  STBIW_FREE(png);
  return bytes;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  try {
    write_file_atomically(path, encode_png(image));
  } catch (const Error& e) {
    fail("write_png('", path, "'): ", e.what());
  }
}

torch::Tensor to_uint8_images(const torch::Tensor& x) {
  check(x.dim() == 4, "to_uint8_images expects [B, C, H, W], got ", x.sizes());
  auto pixels = (255.0 * (x.detach().to(torch::kFloat32) + 1.0) / 2.0).clamp(0, 255);
  return pixels.to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu();
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding,
                        uint8_t background) {
  check(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
        "make_grid expects uint8 [B, H, W, C], got ", images.sizes());
  const int64_t B = images.size(0), H = images.size(1), W = images.size(2), C = images.size(3);
  columns = std::max<int64_t>(1, std::min(columns, B));
  const int64_t rows = (B + columns - 1) / columns;
  auto grid = torch::full({rows * (H + padding) + padding, columns * (W + padding) + padding, C},
                          background, torch::kUInt8);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t r = i / columns, c = i % columns;
    grid.narrow(0, padding + r * (H + padding), H)
        .narrow(1, padding + c * (W + padding), W)
        .copy_(images[i]);
  }
  return grid;
}

}  // namespace elit::io
