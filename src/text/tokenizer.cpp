#include "elit/text/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "elit/runtime/error.h"

namespace elit::text {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '\'') {
      word.push_back(static_cast<char>(std::tolower(ch)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> build_vocabulary(const std::vector<std::string>& captions) {
  std::set<std::string> words;
  for (const auto& caption : captions) {
    for (auto& w : split_words(caption)) words.insert(std::move(w));
  }
  return {words.begin(), words.end()};
}

std::string caption_for_class(const std::string& class_name) {
  std::string name;
  for (unsigned char ch : class_name) name.push_back(static_cast<char>(std::tolower(ch)));
  const bool vowel = !name.empty() && std::string("aeiou").find(name[0]) != std::string::npos;
  return std::string("a photo of ") + (vowel ? "an " : "a ") + name;
}

std::vector<std::string> captions_for_classes(const std::vector<std::string>& class_names) {
  std::vector<std::string> captions;
  for (const auto& name : class_names) captions.push_back(caption_for_class(name));
  return captions;
}

WordTokenizer::WordTokenizer(std::vector<std::string> vocabulary, int64_t max_tokens)
    : words_(std::move(vocabulary)), max_tokens_(max_tokens) {
  check(max_tokens_ >= 2, "tokenizer max_tokens must be >= 2 (start token + a word), got ",
        max_tokens_);
  std::sort(words_.begin(), words_.end());
  for (size_t i = 0; i < words_.size(); ++i) {
    check(!words_[i].empty() && split_words(words_[i]) == std::vector<std::string>{words_[i]},
          "vocabulary entry '", words_[i], "' is not a single lowercase word");
    check(i == 0 || words_[i] != words_[i - 1], "vocabulary lists '", words_[i], "' twice");
  }
}

int64_t WordTokenizer::id_of(const std::string& word, const std::string& prompt) const {
  auto it = std::lower_bound(words_.begin(), words_.end(), word);
  if (it == words_.end() || *it != word) {
    std::string known;
    for (const auto& w : words_) known += " " + w;
    fail("prompt '", prompt, "': word '", word, "' is not in the model's vocabulary of ",
         words_.size(), " words:", known);
  }
  return kFirstWord + (it - words_.begin());
}

torch::Tensor WordTokenizer::encode(const std::vector<std::string>& prompts) const {
  const auto B = static_cast<int64_t>(prompts.size());
  auto tokens = torch::full({B, max_tokens_}, kPad, torch::kInt64);
  auto acc = tokens.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto words = split_words(prompts[b]);
    check(static_cast<int64_t>(words.size()) < max_tokens_, "prompt '", prompts[b], "' has ",
          words.size(), " words; the model takes at most ", max_tokens_ - 1, " (text_max_tokens ",
          max_tokens_, " includes the start token)");
    acc[b][0] = kStart;
    for (size_t i = 0; i < words.size(); ++i) acc[b][i + 1] = id_of(words[i], prompts[b]);
  }
  return tokens;
}

}  // namespace elit::text
