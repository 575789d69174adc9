// Reading numpy's .npy/.npz layout: the header is a Python dict literal
// ({'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }) that this file parses by hand.
#include <cctype>
#include <cstring>
#include <memory>

#include "elit/io/npz.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/checked_size.h"
#include "elit/runtime/error.h"

namespace elit::io {
namespace {

struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// A cursor over the header dict literal; every failure names the file and the header text.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& origin) : s_(text), origin_(origin) {}

  NpyHeader parse() {
    NpyHeader h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (peek() != '}') {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        h.descr = quoted(), has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran = boolean(), has_order = true;
      } else if (key == "shape") {
        h.shape = tuple(), has_shape = true;
      } else {
        bad("unknown key '" + key + "'");
      }
      if (peek() == ',') ++pos_;
    }
    check(has_descr && has_order && has_shape, origin_, ": npy header '", s_,
          "' lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  char peek() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) bad("unexpected end");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    peek();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    bad("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (peek() != ')') {
      size_t used = 0;
      int64_t d = -1;
      try {
        d = std::stoll(s_.substr(pos_), &used);
      } catch (const std::exception&) {
        bad("expected an integer dimension");
      }
      if (d < 0) bad("negative dimension");
      dims.push_back(d);
      pos_ += used;
      if (peek() == ',') ++pos_;
    }
    ++pos_;
    return dims;
  }
  [[noreturn]] void bad(const std::string& what) {
    fail(origin_, ": malformed npy header '", s_, "': ", what, " at offset ", pos_);
  }

  const std::string& s_;
  const std::string& origin_;
  size_t pos_ = 0;
};

torch::ScalarType dtype_of(const std::string& descr, const std::string& origin) {
  check(descr.size() >= 3, origin, ": unsupported npy dtype '", descr, "'");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  const bool one_byte = code == "u1" || code == "i1" || code == "b1";
  check(order == '<' || order == '|' || order == '=' || (one_byte && order == '>'), origin,
        ": npy dtype '", descr, "' is big-endian; only little-endian arrays are supported");
  static const std::map<std::string, torch::ScalarType> types = {
      {"u1", torch::kUInt8},   {"i1", torch::kInt8},    {"b1", torch::kBool},
      {"i2", torch::kInt16},   {"i4", torch::kInt32},   {"i8", torch::kInt64},
      {"f2", torch::kFloat16}, {"f4", torch::kFloat32}, {"f8", torch::kFloat64}};
  const auto it = types.find(code);
  check(it != types.end(), origin, ": unsupported npy dtype '", descr,
        "' (supported: u1 i1 b1 i2 i4 i8 f2 f4 f8)");
  return it->second;
}

}  // namespace

torch::Tensor parse_npy(std::string bytes, const std::string& origin) {
  check(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, origin,
        ": not an npy file (missing the \\x93NUMPY magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  check(major >= 1 && major <= 3, origin, ": unsupported npy format version ", major);
  const int len_bytes = major == 1 ? 2 : 4;
  check(bytes.size() >= 8u + len_bytes, origin, ": truncated npy header");
  const uint64_t header_len = le(bytes, 8, len_bytes);
  const uint64_t data_offset = 8 + len_bytes + header_len;
  check(data_offset <= bytes.size(), origin, ": npy header length ", header_len,
        " runs past the end of the data (", bytes.size(), " bytes)");
  const NpyHeader h = HeaderParser(bytes.substr(8 + len_bytes, header_len), origin).parse();
  const auto dtype = dtype_of(h.descr, origin);
  const uint64_t expected = checked_nbytes(h.shape, c10::elementSize(dtype), origin + " shape");
  check(bytes.size() - data_offset == expected, origin, ": npy data holds ",
        bytes.size() - data_offset, " bytes but shape ", c10::IntArrayRef(h.shape), " of ", h.descr,
        " needs ", expected, " (truncated or corrupt)");
  // Fortran order stores the transpose: read it with the reversed shape, then reverse the axes.
  std::vector<int64_t> stored(h.shape);
  if (h.fortran) std::reverse(stored.begin(), stored.end());
  auto owner = std::make_shared<std::string>(std::move(bytes));
  char* data = owner->data() + data_offset;
  const bool aligned = reinterpret_cast<uintptr_t>(data) % c10::elementSize(dtype) == 0;
  // Zero-copy when aligned (numpy pads headers to 64 bytes): the tensor keeps the buffer alive.
  torch::Tensor t = aligned ? torch::from_blob(
                                  data, stored, [owner](void*) {}, torch::TensorOptions(dtype))
                            : torch::from_blob(data, stored, torch::TensorOptions(dtype)).clone();
  if (h.fortran && t.dim() > 1) {
    std::vector<int64_t> perm(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) perm[i] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

torch::Tensor read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

void write_npy(const std::string& path, const torch::Tensor& array) {
  write_file_atomically(path, serialize_npy(array));
}

std::vector<std::string> npz_names(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& entry : ZipReader(path).names()) {
    if (entry.size() > 4 && entry.compare(entry.size() - 4, 4, ".npy") == 0) {
      names.push_back(entry.substr(0, entry.size() - 4));
    }
  }
  return names;
}

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  ZipReader zip(path);
  std::map<std::string, torch::Tensor> arrays;
  for (const auto& entry : zip.names()) {
    if (entry.size() <= 4 || entry.compare(entry.size() - 4, 4, ".npy") != 0) continue;
    arrays[entry.substr(0, entry.size() - 4)] = parse_npy(zip.read(entry), path + ":" + entry);
  }
  return arrays;
}

torch::Tensor read_npz_array(const std::string& path, const std::string& name) {
  ZipReader zip(path);
  const std::string entry = name + ".npy";
  if (!zip.contains(entry)) {
    std::string present;
    for (const auto& n : npz_names(path)) present += (present.empty() ? "" : ", ") + n;
    fail("npz file '", path, "' has no array '", name,
         "' (it holds: ", present.empty() ? "nothing" : present, ")");
  }
  return parse_npy(zip.read(entry), path + ":" + entry);
}

}  // namespace elit::io
