// IDX files (the MNIST / Fashion-MNIST format), optionally gzip-compressed: a big-endian header
// of dimensions, then the unsigned bytes.
#pragma once
#include <torch/types.h>

#include <string>

namespace elit::data {

// The file's bytes as uint8 with its dimensions; `origin` names it in errors. Every dimension
// is checked against the bytes present before anything is allocated.
torch::Tensor parse_idx(std::string bytes, const std::string& origin);

// Reads one IDX file (optionally .gz); used for Fashion-MNIST and MNIST-format datasets.
torch::Tensor read_idx(const std::string& path);

}  // namespace elit::data
