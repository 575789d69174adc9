// The built-in text path's tokenizer and the Fashion-MNIST captions.
#include "elit/text/tokenizer.h"

#include <gtest/gtest.h>

#include "elit/data/fashion_mnist.h"
#include "elit/runtime/error.h"

namespace elit::text {
namespace {

TEST(Tokenizer, SplitsLowercaseWords) {
  EXPECT_EQ(split_words("  A photo of a T-shirt/top, it's\tnice "),
            (std::vector<std::string>{"a", "photo", "of", "a", "t-shirt", "top", "it's", "nice"}));
  EXPECT_TRUE(split_words("").empty());
}

TEST(Tokenizer, FashionMnistCaptions) {
  const auto captions = captions_for_classes(data::fashion_mnist_classes());
  ASSERT_EQ(captions.size(), 10u);
  EXPECT_EQ(captions[0], "a photo of a t-shirt/top");
  EXPECT_EQ(captions[9], "a photo of an ankle boot");
  const auto vocab = build_vocabulary(captions);
  EXPECT_TRUE(std::is_sorted(vocab.begin(), vocab.end()));
  EXPECT_NE(std::find(vocab.begin(), vocab.end(), "ankle"), vocab.end());
  EXPECT_EQ(std::count(vocab.begin(), vocab.end(), "a"), 1);
}

TEST(Tokenizer, EncodesWithStartTokenAndPadding) {
  WordTokenizer tok({"photo", "a", "bag"}, 5);
  EXPECT_EQ(tok.vocab_size(), 5);
  auto ids = tok.encode({"a Bag", "", "a photo a bag"});
  EXPECT_EQ(ids.sizes(), (std::vector<int64_t>{3, 5}));
  // sorted words: a=2, bag=3, photo=4
  EXPECT_TRUE(torch::equal(ids[0], torch::tensor({1, 2, 3, 0, 0}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(ids[1], torch::tensor({1, 0, 0, 0, 0}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(ids[2], torch::tensor({1, 2, 4, 2, 3}, torch::kInt64)));
  EXPECT_EQ(WordTokenizer::mask(ids).sum().item<int64_t>(), 3 + 1 + 5);
}

TEST(Tokenizer, RejectsUnknownWordsLongPromptsAndBadVocabularies) {
  WordTokenizer tok({"a", "bag"}, 3);
  EXPECT_THROW(tok.encode({"a cat"}), elit::Error);
  EXPECT_THROW(tok.encode({"a bag a"}), elit::Error);  // 3 words + start > 3
  EXPECT_THROW(WordTokenizer({"a", "a"}, 3), elit::Error);
  EXPECT_THROW(WordTokenizer({"two words"}, 3), elit::Error);
  EXPECT_THROW(WordTokenizer({"a"}, 1), elit::Error);
}

}  // namespace
}  // namespace elit::text
