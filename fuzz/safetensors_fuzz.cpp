// libFuzzer target: a safetensors file (header JSON, offsets, shapes, dtypes).
#include "elit/io/safetensors.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = elit::fuzz::bytes_of(data, size);
  elit::fuzz::expect_clean([&] { elit::io::parse_safetensors(bytes, "fuzz.safetensors"); });
  return 0;
}
