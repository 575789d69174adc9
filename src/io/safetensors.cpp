#include "elit/io/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/checked_size.h"
#include "elit/runtime/error.h"
#include "elit/runtime/strict_json.h"

namespace elit::io {
namespace {

using json = nlohmann::json;

// The format allows large headers, but a header over 100 MB is certainly corrupt.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::vector<int64_t> parse_shape(const json& entry, const std::string& ctx) {
  check(entry.contains("shape") && entry["shape"].is_array(), ctx, ": missing array 'shape'");
  std::vector<int64_t> shape;
  for (const auto& d : entry["shape"]) {
    check(d.is_number_integer() && d.get<int64_t>() >= 0, ctx,
          ": shape entries must be non-negative integers, got ", d.dump());
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

// A hint for files that are not safetensors at all, seen by their first bytes.
std::string what_file_is(const std::string& bytes) {
  if (bytes.compare(0, 2, "PK") == 0) return " but a zip archive (not a torch.save zip either)";
  if (static_cast<uint8_t>(bytes[0]) == 0x80 && static_cast<uint8_t>(bytes[1]) <= 5) {
    return ": it starts like a pickle, as legacy (non-zip) torch.save files do; elit reads only "
           "zip torch.save files (torch >= 1.6) and safetensors";
  }
  if (bytes.compare(0, 6, "\x93NUMPY") == 0) return " but a numpy .npy array";
  return " (nor a torch.save zip archive)";
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

Span parse_offsets(const json& entry, const std::string& name, const std::string& ctx) {
  check(entry.contains("data_offsets") && entry["data_offsets"].is_array() &&
            entry["data_offsets"].size() == 2,
        ctx, ": 'data_offsets' must be [begin, end]");
  const auto& o = entry["data_offsets"];
  check(o[0].is_number_unsigned() && o[1].is_number_unsigned(), ctx,
        ": data_offsets must be non-negative integers, got ", o.dump());
  Span s{o[0].get<uint64_t>(), o[1].get<uint64_t>(), name};
  check(s.begin <= s.end, ctx, ": data_offsets begin ", s.begin, " > end ", s.end);
  return s;
}

}  // namespace

torch::ScalarType dtype_from_safetensors(const std::string& name, const std::string& context) {
  static const std::map<std::string, torch::ScalarType> table = {
      {"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
      {"BOOL", torch::kBool}};
  auto it = table.find(name);
  check(it != table.end(), context, ": unsupported dtype '", name,
        "' (expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  return it->second;
}

std::string dtype_to_safetensors(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64:
      return "F64";
    case torch::kFloat32:
      return "F32";
    case torch::kFloat16:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    case torch::kInt64:
      return "I64";
    case torch::kInt32:
      return "I32";
    case torch::kInt16:
      return "I16";
    case torch::kInt8:
      return "I8";
    case torch::kUInt8:
      return "U8";
    case torch::kBool:
      return "BOOL";
    default:
      fail("safetensors cannot store tensors of type ", c10::toString(type));
  }
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& origin) {
  const std::string ctx = "safetensors file '" + origin + "'";
  check(bytes.size() >= 8, ctx, ": truncated (", bytes.size(),
        " bytes; at least 8 needed for the header length)");
  const uint64_t header_len = read_u64_le(bytes.data());
  const bool plausible = header_len >= 2 && header_len <= kMaxHeaderBytes &&
                         header_len <= bytes.size() - 8 && bytes[8] == '{';
  const bool past_end = header_len > bytes.size() - 8;
  check(plausible, "'", origin, "' is not a safetensors file", what_file_is(bytes),
        " (its first 8 bytes give a header length of ", header_len,
        past_end ? ", which runs past the end of the " : " for a ", bytes.size(),
        "-byte file, and a safetensors header is a JSON object)");
  const json header = parse_json_strictly(
      bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(header_len), ctx + " header");
  check(header.is_object(), ctx, ": header must be a JSON object");

  const uint64_t data_size = bytes.size() - 8 - header_len;
  const char* data = bytes.data() + 8 + header_len;
  SafetensorsFile file;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      check(entry.is_object(), ctx, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        check(v.is_string(), ctx, ": __metadata__['", k, "'] must be a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string tctx = ctx + " tensor '" + name + "'";
    check(entry.is_object(), tctx, ": entry must be an object");
    check(entry.contains("dtype") && entry["dtype"].is_string(), tctx, ": missing 'dtype'");
    const auto type = dtype_from_safetensors(entry["dtype"].get<std::string>(), tctx);
    const auto shape = parse_shape(entry, tctx);
    const Span span = parse_offsets(entry, name, tctx);
    check(span.end <= data_size, tctx, ": data_offsets [", span.begin, ", ", span.end,
          "] out of range (data section has ", data_size, " bytes)");
    const uint64_t expected = checked_nbytes(shape, c10::elementSize(type), tctx + " shape");
    check(span.end - span.begin == expected, tctx, ": ", span.end - span.begin,
          " bytes stored but dtype ", entry["dtype"].get<std::string>(), " with shape ",
          entry["shape"].dump(), " needs ", expected);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(type));
    if (expected > 0) std::memcpy(t.data_ptr(), data + span.begin, expected);
    file.tensors[name] = t;
    spans.push_back(span);
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    check(spans[i].begin >= spans[i - 1].end, ctx, ": tensors '", spans[i - 1].name, "' and '",
          spans[i].name, "' overlap");
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path), path);
}

std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check(tensor.defined(), "cannot write undefined tensor '", name, "'");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t n = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_to_safetensors(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
    cpu.push_back(t);
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  std::string out(8, '\0');
  uint64_t len = head.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out += head;
  out.reserve(out.size() + offset);
  for (const auto& t : cpu) {
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

}  // namespace elit::io
