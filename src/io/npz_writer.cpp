#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "elit/io/npz.h"
#include "elit/io/npz_stream.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"

namespace elit::io {
namespace {

std::string descr(torch::ScalarType t) {
  switch (t) {
    case torch::kUInt8:
      return "|u1";
    case torch::kInt64:
      return "<i8";
    case torch::kInt32:
      return "<i4";
    case torch::kFloat32:
      return "<f4";
    case torch::kFloat64:
      return "<f8";
    case torch::kBool:
      return "|b1";
    default:
      fail("npy cannot store tensors of type ", c10::toString(t));
  }
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The .npy header (format 1.0) of an array of `dtype` and `shape`: magic, version, length and a
// Python dict literal padded with spaces to a multiple of 64 and ending in a newline, as numpy
// writes it.
std::string npy_header(torch::ScalarType dtype, const std::vector<int64_t>& shape) {
  std::string dims = "(";
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  if (shape.size() == 1) dims.resize(dims.size() - 1);  // "(5,)"
  dims += ")";
  std::string header =
      "{'descr': '" + descr(dtype) + "', 'fortran_order': False, 'shape': " + dims + ", }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  put_le(out, header.size(), 2);
  return out + header;
}

uint64_t npy_data_bytes(const NpyArraySpec& a) {
  uint64_t n = c10::elementSize(a.dtype);
  for (int64_t d : a.shape) {
    check(d >= 0, "npz array '", a.name, "': negative dimension ", d);
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

// Rows in all: shape[0], or 1 for a 0-d array (one value, appended as a 0-d tensor).
int64_t total_rows(const NpyArraySpec& a) {
  return a.shape.empty() ? 1 : a.shape[0];
}

uint64_t tell(std::ofstream& out, const std::string& path) {
  const auto pos = out.tellp();
  check(pos >= 0 && out.good(), "cannot write '", path, "' (disk full?)");
  return static_cast<uint64_t>(pos);
}

}  // namespace

std::string serialize_npy(const torch::Tensor& array) {
  auto a = array.detach().cpu().contiguous();
  return npy_header(a.scalar_type(), a.sizes().vec()) +
         std::string(static_cast<const char*>(a.data_ptr()), a.numel() * a.element_size());
}

NpzRowSink::NpzRowSink(std::ofstream& out, const std::vector<NpyArraySpec>& arrays,
                       std::string path)
    : out_(out), arrays_(arrays), path_(std::move(path)) {}

void NpzRowSink::open_next() {
  if (current_ > 0) {  // close the entry: its CRC is known now
    const auto& a = arrays_[current_ - 1];
    check(rows_ == total_rows(a), "npz '", path_, "': array '", a.name, "' got ", rows_, " of its ",
          total_rows(a), " rows");
    const uint64_t end = tell(out_, path_);
    out_.seekp(static_cast<std::streamoff>(entry_start_ + 14));
    std::string crc;
    put_le(crc, crc_, 4);
    out_.write(crc.data(), 4);
    out_.seekp(static_cast<std::streamoff>(end));
    // Central directory record: zip64 sizes and local header offset.
    const std::string file = a.name + ".npy";
    const uint64_t size = end - data_start_;
    std::string extra;
    put_le(extra, 0x0001, 2);
    put_le(extra, 24, 2);
    put_le(extra, size, 8);
    put_le(extra, size, 8);
    put_le(extra, entry_start_, 8);
    put_le(central_, 0x02014b50, 4);
    put_le(central_, 45, 2);  // made by / needed: zip64
    put_le(central_, 45, 2);
    put_le(central_, 0, 2);  // flags
    put_le(central_, 0, 2);  // stored
    put_le(central_, 0, 4);  // time, date
    put_le(central_, crc_, 4);
    put_le(central_, 0xFFFFFFFF, 4);
    put_le(central_, 0xFFFFFFFF, 4);
    put_le(central_, file.size(), 2);
    put_le(central_, extra.size(), 2);
    put_le(central_, 0, 2);  // comment
    put_le(central_, 0, 2);  // disk
    put_le(central_, 0, 2);  // internal attributes
    put_le(central_, 0, 4);  // external attributes
    put_le(central_, 0xFFFFFFFF, 4);
    central_ += file + extra;
  }
  if (current_ == arrays_.size()) return;
  const auto& a = arrays_[current_++];
  const std::string file = a.name + ".npy";
  const std::string header = npy_header(a.dtype, a.shape);
  const uint64_t size = header.size() + npy_data_bytes(a);
  entry_start_ = tell(out_, path_);
  std::string local;
  put_le(local, 0x04034b50, 4);
  put_le(local, 45, 2);  // version needed: zip64
  put_le(local, 0, 2);   // flags
  put_le(local, 0, 2);   // stored
  put_le(local, 0, 4);   // time, date
  put_le(local, 0, 4);   // CRC: written when the entry closes
  put_le(local, 0xFFFFFFFF, 4);
  put_le(local, 0xFFFFFFFF, 4);
  put_le(local, file.size(), 2);
  put_le(local, 20, 2);  // zip64 extra: uncompressed, compressed sizes
  local += file;
  put_le(local, 0x0001, 2);
  put_le(local, 16, 2);
  put_le(local, size, 8);
  put_le(local, size, 8);
  out_.write(local.data(), static_cast<std::streamsize>(local.size()));
  data_start_ = entry_start_ + local.size();
  out_.write(header.data(), static_cast<std::streamsize>(header.size()));
  crc_ = crc32_update(0, header.data(), header.size());
  rows_ = 0;
}

void NpzRowSink::append(const std::string& name, const torch::Tensor& rows) {
  while (current_ == 0 || arrays_[current_ - 1].name != name) {
    check(current_ < arrays_.size(), "npz '", path_, "': no array '", name,
          "' left to write (arrays are written in their declared order)");
    open_next();
  }
  const auto& a = arrays_[current_ - 1];
  check(rows.scalar_type() == a.dtype, "npz '", path_, "': array '", a.name, "' holds ",
        c10::toString(a.dtype), ", got ", c10::toString(rows.scalar_type()));
  check(rows.dim() == static_cast<int64_t>(a.shape.size()) &&
            (a.shape.empty() ||
             std::equal(a.shape.begin() + 1, a.shape.end(), rows.sizes().begin() + 1)),
        "npz '", path_, "': array '", a.name, "' rows of shape ", rows.sizes(),
        " do not fit its declared shape ", c10::IntArrayRef(a.shape));
  const int64_t count = a.shape.empty() ? 1 : rows.size(0);
  check(rows_ + count <= total_rows(a), "npz '", path_, "': array '", a.name, "' declared ",
        total_rows(a), " rows, got ", rows_ + count);
  const auto block = rows.detach().cpu().contiguous();
  const auto* data = static_cast<const char*>(block.data_ptr());
  const size_t bytes = static_cast<size_t>(block.numel()) * block.element_size();
  out_.write(data, static_cast<std::streamsize>(bytes));
  check(out_.good(), "cannot write '", path_, "' (disk full?)");
  crc_ = crc32_update(crc_, data, bytes);
  rows_ += count;
}

void NpzRowSink::finish() {
  while (current_ < arrays_.size()) open_next();  // arrays of 0 rows need no append
  open_next();                                    // closes the last entry
  std::string tail;
  const uint64_t cd_offset = tell(out_, path_);
  const uint64_t count = arrays_.size();
  tail += central_;
  const uint64_t z64_offset = cd_offset + central_.size();
  put_le(tail, 0x06064b50, 4);  // zip64 end of central directory
  put_le(tail, 44, 8);
  put_le(tail, 45, 2);
  put_le(tail, 45, 2);
  put_le(tail, 0, 4);
  put_le(tail, 0, 4);
  put_le(tail, count, 8);
  put_le(tail, count, 8);
  put_le(tail, central_.size(), 8);
  put_le(tail, cd_offset, 8);
  put_le(tail, 0x07064b50, 4);  // zip64 locator
  put_le(tail, 0, 4);
  put_le(tail, z64_offset, 8);
  put_le(tail, 1, 4);
  put_le(tail, 0x06054b50, 4);  // classic end record pointing at zip64
  put_le(tail, 0, 4);
  put_le(tail, 0xFFFF, 2);
  put_le(tail, 0xFFFF, 2);
  put_le(tail, 0xFFFFFFFF, 4);
  put_le(tail, 0xFFFFFFFF, 4);
  put_le(tail, 0, 2);
  out_.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  out_.flush();
  check(out_.good(), "cannot write '", path_, "' (disk full?)");
}

void write_npz_streaming(const std::string& path, const std::vector<NpyArraySpec>& arrays,
                         const std::function<void(NpzRowSink&)>& fill) {
  replace_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    check(out.good(), "cannot create '", tmp, "': ", std::strerror(errno));
    NpzRowSink sink(out, arrays, path);
    fill(sink);
    sink.finish();
  });
}

void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays) {
  std::vector<NpyArraySpec> specs;
  for (const auto& [name, array] : arrays) {
    specs.push_back({name, array.scalar_type(), array.sizes().vec()});
  }
  write_npz_streaming(path, specs, [&](NpzRowSink& sink) {
    for (const auto& [name, array] : arrays) sink.append(name, array);
  });
}

}  // namespace elit::io
