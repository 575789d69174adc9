// safetensors reader and writer (https://github.com/huggingface/safetensors format):
// 8-byte little-endian header length, a JSON header, then the tensors' bytes.
// The reader validates everything it is given and never reads outside the buffer.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

namespace elit::io {

using TensorMap = std::map<std::string, torch::Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;
  Metadata metadata;  // the header's "__metadata__" (string -> string)
};

// Reads and validates `path`. Throws elit::Error naming the file and the problem (truncated file,
// header length past the end, bad JSON, unknown dtype, size not matching shape, offsets out of
// range or overlapping).
SafetensorsFile read_safetensors(const std::string& path);

// Parses an in-memory safetensors buffer; `origin` names it in errors.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& origin);

// Serialises tensors (any of F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL, contiguous or not, on any
// device) in name order.
std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});

// Writes atomically (temp file, fsync, rename).
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata = {});

// "F32" <-> torch::kFloat32 and friends.
torch::ScalarType dtype_from_safetensors(const std::string& name, const std::string& context);
std::string dtype_to_safetensors(torch::ScalarType type);

}  // namespace elit::io
