// An .npz written a block of rows at a time, so that an array larger than memory (the samples of
// `elit sample --num 100000000`) is never held whole. The file is the one write_npz writes
// (uncompressed zip64 entries in numpy's .npy layout) and appears atomically when complete.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace elit::io {

struct NpyArraySpec {
  std::string name;  // entry "<name>.npy"
  torch::ScalarType dtype = torch::kUInt8;
  std::vector<int64_t> shape;  // shape[0]: rows in all
};

// Takes the rows of the declared arrays, in declaration order: all of array k's rows come before
// any of array k + 1's.
class NpzRowSink {
 public:
  // rows: [r, shape[1:]...] of the declared dtype (any device, any layout). Throws elit::Error
  // naming the array when the shape or dtype differ, when the array would get more rows than
  // declared, or when an earlier array is not complete.
  void append(const std::string& name, const torch::Tensor& rows);

 private:
  friend void write_npz_streaming(const std::string&, const std::vector<NpyArraySpec>&,
                                  const std::function<void(NpzRowSink&)>&);
  NpzRowSink(std::ofstream& out, const std::vector<NpyArraySpec>& arrays, std::string path);
  void open_next();  // closes the current entry (checking it is complete) and starts the next
  void finish();     // every array complete; writes the central directory

  std::ofstream& out_;
  const std::vector<NpyArraySpec>& arrays_;
  std::string path_;
  size_t current_ = 0;  // index + 1 of the entry being written (0: none yet)
  int64_t rows_ = 0;    // rows of the current array written so far
  uint64_t entry_start_ = 0, data_start_ = 0;
  uint32_t crc_ = 0;
  std::string central_;  // central directory records of the finished entries
};

// Creates `path` atomically: `fill` appends every row of every array. A missing row, or an
// exception from `fill`, leaves `path` untouched (and removes the partial file).
void write_npz_streaming(const std::string& path, const std::vector<NpyArraySpec>& arrays,
                         const std::function<void(NpzRowSink&)>& fill);

}  // namespace elit::io
