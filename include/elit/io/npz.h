// numpy .npy / .npz files in numpy's own layout, so samples and reference batches interoperate
// with the ADM evaluator and np.load.
#pragma once
#include <map>
#include <string>

#include <torch/types.h>

namespace elit::io {

// Writes arrays as an uncompressed .npz (np.savez layout: a zip of "<name>.npy" entries, zip64
// when large), atomically. Supported dtypes: uint8, int64, int32, float32, float64, bool.
void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays);

// One .npy file (format version 1.0, C order).
std::string serialize_npy(const torch::Tensor& array);

}  // namespace elit::io
