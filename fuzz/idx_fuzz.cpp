// libFuzzer target: IDX files (MNIST format), plain or gzip-compressed.
#include "elit/data/idx_file.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  elit::fuzz::expect_clean(
      [&] { elit::data::parse_idx(elit::fuzz::bytes_of(data, size), "fuzz.idx"); });
  return 0;
}
