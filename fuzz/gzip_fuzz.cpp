// libFuzzer target: gzip decompression (dataset files), with a small output bound.
#include "elit/runtime/gzip.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  elit::fuzz::expect_clean(
      [&] { elit::gunzip(elit::fuzz::bytes_of(data, size), "fuzz.gz", 1 << 24); });
  return 0;
}
