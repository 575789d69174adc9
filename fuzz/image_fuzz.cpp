// libFuzzer target: image decoding (PNG, JPEG, BMP, ... through stb) for image-folder datasets.
#include "elit/io/image.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  elit::fuzz::expect_clean(
      [&] { elit::io::decode_image(elit::fuzz::bytes_of(data, size), "fuzz.img"); });
  return 0;
}
