// libFuzzer target: one .npy array (magic, header dict, shape, data size).
#include "elit/io/npz.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  elit::fuzz::expect_clean(
      [&] { elit::io::parse_npy(elit::fuzz::bytes_of(data, size), "fuzz.npy"); });
  return 0;
}
