// libFuzzer target: the server's request parser (POST /v1/generate bodies) on arbitrary bytes.
// Every rejection must be a BadRequest (a 400), never another exception or a crash.
#include "elit/serve/request.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const elit::serve::RequestLimits limits = [] {
    elit::serve::RequestLimits l;
    l.spec.name = "fuzz";
    l.spec.elit = true;
    l.spec.num_classes = 10;
    l.spec.tokens_per_group = 4;
    l.spec.latent_tokens = 16;
    for (int i = 0; i < 10; ++i) l.class_names.push_back("class" + std::to_string(i));
    l.check_prompt = [](const std::string& p) {
      if (p.size() > 64) elit::fail("prompt too long");
    };
    return l;
  }();
  try {
    elit::serve::parse_generate_request(elit::fuzz::bytes_of(data, size), limits);
  } catch (const elit::serve::BadRequest&) {
  }
  return 0;
}
