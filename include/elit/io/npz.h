// numpy .npy / .npz files in numpy's own layout, so samples and reference batches interoperate
// with the ADM evaluator (openai/guided-diffusion evaluations/evaluator.py) and np.load.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace elit::io {

// Writes arrays as an uncompressed .npz (np.savez layout: a zip of "<name>.npy" entries, zip64
// when large), atomically. Supported dtypes: uint8, int64, int32, float32, float64, bool.
void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays);

// One .npy file (format version 1.0, C order).
std::string serialize_npy(const torch::Tensor& array);

// Writes one .npy file atomically.
void write_npy(const std::string& path, const torch::Tensor& array);

// Parses one .npy file held in memory: format versions 1.0, 2.0 and 3.0, C or Fortran order,
// dtypes |u1 |i1 |b1 <i2 <i4 <i8 <f2 <f4 <f8 (also written with '=' or '|'). The result is a
// contiguous CPU tensor in C order with the file's shape. `origin` names the data in errors
// (truncated data, bad magic, big-endian or object arrays, size not matching the shape).
torch::Tensor parse_npy(std::string bytes, const std::string& origin);

// Reads a .npy file.
torch::Tensor read_npy(const std::string& path);

// Reads every array of an .npz (np.savez or np.savez_compressed: stored or deflate entries,
// zip or zip64), keyed by name without the ".npy" suffix.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

// The array names of an .npz, in archive order, without reading any array.
std::vector<std::string> npz_names(const std::string& path);

// Reads one array of an .npz; throws elit::Error listing the names present when it is missing.
torch::Tensor read_npz_array(const std::string& path, const std::string& name);

}  // namespace elit::io
