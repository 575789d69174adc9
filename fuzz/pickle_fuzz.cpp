// libFuzzer target: the data-only unpickler (the pickles inside torch.save files).
#include "elit/io/pickle.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = elit::fuzz::bytes_of(data, size);
  elit::fuzz::expect_clean([&] {
    elit::io::unpickle(
        bytes,
        [](const elit::io::PyRef&) -> elit::io::PyRef {
          auto storage = std::make_shared<elit::io::PyValue>();
          storage->kind = elit::io::PyValue::Kind::Storage;
          return storage;
        },
        "fuzz.pkl");
  });
  return 0;
}
