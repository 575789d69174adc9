// The built-in text path's tokenizer: lowercase words over a small vocabulary built from the
// dataset's captions (for experiments without a CLIP/T5 encoder on the machine).
//
// A prompt becomes [start, w1, w2, ..., pad, ...]: the start token is always present, so the
// empty prompt (the null condition of classifier-free guidance) is one real token, as CLIP's
// empty prompt is its start/end tokens. Words are lowercase runs of letters, digits, '-' and
// '\''; every other character separates words ("T-shirt/top" -> "t-shirt", "top").
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace elit::text {

// The words of a prompt, lowercased.
std::vector<std::string> split_words(const std::string& text);

// The sorted distinct words of the captions.
std::vector<std::string> build_vocabulary(const std::vector<std::string>& captions);

// "a photo of a t-shirt/top", "a photo of an ankle boot": the caption of a class name.
std::string caption_for_class(const std::string& class_name);
// The captions of class names, in label order (a dataset's classes for a builtin-text model).
std::vector<std::string> captions_for_classes(const std::vector<std::string>& class_names);

class WordTokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kStart = 1;
  static constexpr int64_t kFirstWord = 2;

  // max_tokens counts the start token. Throws elit::Error for duplicate or empty words.
  WordTokenizer(std::vector<std::string> vocabulary, int64_t max_tokens);

  // Token ids [B, max_tokens] int64, padded with kPad. Throws elit::Error naming the prompt for
  // a word outside the vocabulary or a prompt longer than max_tokens - 1 words.
  torch::Tensor encode(const std::vector<std::string>& prompts) const;
  // True where a real (non-padding) token is: [B, L] bool.
  static torch::Tensor mask(const torch::Tensor& tokens) { return tokens != kPad; }

  int64_t vocab_size() const { return kFirstWord + static_cast<int64_t>(words_.size()); }
  int64_t max_tokens() const { return max_tokens_; }
  const std::vector<std::string>& words() const { return words_; }

 private:
  int64_t id_of(const std::string& word, const std::string& prompt) const;
  std::vector<std::string> words_;  // sorted
  int64_t max_tokens_;
};

}  // namespace elit::text
