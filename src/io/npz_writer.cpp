#include <cstring>

#include "elit/io/npz.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"

namespace elit::io {
namespace {

std::string descr(torch::ScalarType t) {
  switch (t) {
    case torch::kUInt8: return "|u1";
    case torch::kInt64: return "<i8";
    case torch::kInt32: return "<i4";
    case torch::kFloat32: return "<f4";
    case torch::kFloat64: return "<f8";
    case torch::kBool: return "|b1";
    default: fail("npy cannot store tensors of type ", c10::toString(t));
  }
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string serialize_npy(const torch::Tensor& array) {
  auto a = array.detach().cpu().contiguous();
  std::string shape = "(";
  for (int64_t d : a.sizes()) shape += std::to_string(d) + ", ";
  if (a.dim() > 1) shape.resize(shape.size() - 2);
  if (a.dim() == 1) shape.resize(shape.size() - 1);  // "(5,)"
  shape += ")";
  std::string header = "{'descr': '" + descr(a.scalar_type()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64 and
  // ending in a newline, as numpy writes it.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  put_le(out, header.size(), 2);
  out += header;
  out.append(static_cast<const char*>(a.data_ptr()), a.numel() * a.element_size());
  return out;
}

void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays) {
  // A stored (uncompressed) zip; every entry carries zip64 sizes so that arrays over 4 GiB work.
  std::string zip, central;
  uint64_t count = 0;
  for (const auto& [name, array] : arrays) {
    const std::string file = name + ".npy";
    const std::string data = serialize_npy(array);
    const uint32_t crc = crc32_of(data);
    const uint64_t offset = zip.size();
    std::string extra;  // zip64 extended information: uncompressed, compressed sizes
    put_le(extra, 0x0001, 2);
    put_le(extra, 16, 2);
    put_le(extra, data.size(), 8);
    put_le(extra, data.size(), 8);
    put_le(zip, 0x04034b50, 4);
    put_le(zip, 45, 2);  // version needed: zip64
    put_le(zip, 0, 2);   // flags
    put_le(zip, 0, 2);   // stored
    put_le(zip, 0, 4);   // time, date
    put_le(zip, crc, 4);
    put_le(zip, 0xFFFFFFFF, 4);
    put_le(zip, 0xFFFFFFFF, 4);
    put_le(zip, file.size(), 2);
    put_le(zip, extra.size(), 2);
    zip += file + extra + data;
    std::string cextra;  // sizes and local header offset
    put_le(cextra, 0x0001, 2);
    put_le(cextra, 24, 2);
    put_le(cextra, data.size(), 8);
    put_le(cextra, data.size(), 8);
    put_le(cextra, offset, 8);
    put_le(central, 0x02014b50, 4);
    put_le(central, 45, 2);
    put_le(central, 45, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 4);
    put_le(central, crc, 4);
    put_le(central, 0xFFFFFFFF, 4);
    put_le(central, 0xFFFFFFFF, 4);
    put_le(central, file.size(), 2);
    put_le(central, cextra.size(), 2);
    put_le(central, 0, 2);  // comment
    put_le(central, 0, 2);  // disk
    put_le(central, 0, 2);  // internal attributes
    put_le(central, 0, 4);  // external attributes
    put_le(central, 0xFFFFFFFF, 4);
    central += file + cextra;
    ++count;
  }
  const uint64_t cd_offset = zip.size();
  zip += central;
  const uint64_t z64_offset = zip.size();
  put_le(zip, 0x06064b50, 4);  // zip64 end of central directory
  put_le(zip, 44, 8);
  put_le(zip, 45, 2);
  put_le(zip, 45, 2);
  put_le(zip, 0, 4);
  put_le(zip, 0, 4);
  put_le(zip, count, 8);
  put_le(zip, count, 8);
  put_le(zip, central.size(), 8);
  put_le(zip, cd_offset, 8);
  put_le(zip, 0x07064b50, 4);  // zip64 locator
  put_le(zip, 0, 4);
  put_le(zip, z64_offset, 8);
  put_le(zip, 1, 4);
  put_le(zip, 0x06054b50, 4);  // classic end record pointing at zip64
  put_le(zip, 0, 4);
  put_le(zip, 0xFFFF, 2);
  put_le(zip, 0xFFFF, 2);
  put_le(zip, 0xFFFFFFFF, 4);
  put_le(zip, 0xFFFFFFFF, 4);
  put_le(zip, 0, 2);
  write_file_atomically(path, zip);
}

}  // namespace elit::io
