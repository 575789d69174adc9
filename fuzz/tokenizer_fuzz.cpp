// libFuzzer target: the caption tokenizer on arbitrary prompts (split on NUL into a batch).
#include "elit/text/tokenizer.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const elit::text::WordTokenizer tokenizer(
      elit::text::build_vocabulary(elit::text::fashion_mnist_captions()), 16);
  const auto text = elit::fuzz::bytes_of(data, size);
  std::vector<std::string> prompts;
  for (size_t begin = 0, end; begin <= text.size(); begin = end + 1) {
    end = std::min(text.find('\0', begin), text.size());
    prompts.push_back(text.substr(begin, end - begin));
  }
  elit::text::split_words(text);
  elit::fuzz::expect_clean([&] { tokenizer.encode(prompts); });
  return 0;
}
