// Request validation: every class of bad input is a BadRequest naming the field and what was
// expected; a good request reads every field.
#include <gtest/gtest.h>

#include "elit/data/fashion_mnist.h"
#include "elit/serve/request.h"

namespace elit::serve {
namespace {

RequestLimits tiny_limits() {
  RequestLimits l;
  l.spec.name = "tiny";
  l.spec.elit = true;
  l.spec.num_classes = 10;
  l.spec.tokens_per_group = 4;
  l.spec.latent_tokens = 16;
  l.class_names = data::fashion_mnist_classes();
  l.max_num = 4;
  l.max_steps = 30;
  l.default_steps = 7;
  return l;
}

TEST(GenerateRequest, ReadsEveryField) {
  const auto r = parse_generate_request(
      R"({"class": "sneaker", "num": 3, "seed": 42, "steps": 9, "sampler": "heun",
          "cfg_scale": 2.5, "uncond_budget": 0.25, "budget": 0.5, "deadline_ms": 800,
          "id": "page-7"})",
      tiny_limits());
  EXPECT_EQ(r.label, 7);  // Fashion-MNIST's "Sneaker", matched without case
  EXPECT_EQ(r.num, 3);
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.steps, 9);
  EXPECT_EQ(r.sampler, sampling::SamplerKind::heun);
  EXPECT_DOUBLE_EQ(r.cfg_scale, 2.5);
  EXPECT_DOUBLE_EQ(*r.uncond_budget, 0.25);
  EXPECT_DOUBLE_EQ(*r.budget, 0.5);
  EXPECT_DOUBLE_EQ(*r.deadline_ms, 800);
  EXPECT_EQ(r.id, "page-7");
  const auto d = parse_generate_request(R"({"class": 2})", tiny_limits());
  EXPECT_EQ(d.steps, 7);  // the server's default
  EXPECT_EQ(d.num, 1);
  EXPECT_FALSE(d.budget || d.deadline_ms);
}

TEST(GenerateRequest, APromptIsCheckedByTheModelsTextPath) {
  auto limits = tiny_limits();
  limits.check_prompt = [](const std::string& p) {
    if (p.find("cat") != std::string::npos) fail("word 'cat' is not in the vocabulary");
  };
  const auto r = parse_generate_request(R"({"prompt": "a red bag", "seed": 3})", limits);
  EXPECT_EQ(r.prompt, "a red bag");
  EXPECT_EQ(r.seed, 3u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"prompt": "a cat"})", "word 'cat'"},
      {R"({"prompt": 7})", "'prompt' must be a string"},
      {R"({"prompt": "a bag", "class": 1})", "either 'class'"},
      {R"({"seed": 1})", "either 'class'"},
      {"{\"prompt\": \"" + std::string(1100, 'a') + "\"}", "longer than 1024"}};
  for (const auto& [body, fragment] : bad) {
    try {
      parse_generate_request(body, limits);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const BadRequest& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

TEST(GenerateRequest, EveryBadInputIsAClearBadRequest) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"class": 1,)", "malformed JSON"},
      {R"({"class": 1, "steps": 777e735777777735735555})", "malformed JSON"},  // fuzz_request
      {"", "malformed JSON"},
      {R"([1, 2])", "JSON object"},
      {R"({"class": 1, "colour": "red"})", "unknown field 'colour'"},
      {R"({"num": 1})", "missing 'class'"},
      {R"({"class": 12})", "unknown class 12"},
      {R"({"class": -1})", "unknown class -1"},
      {R"({"class": "dragon"})", "unknown class 'dragon'"},
      {R"({"class": 1.5})", "class index or name"},
      {R"({"class": 1, "num": "two"})", "'num' must be an integer"},
      {R"({"class": 1, "num": 0})", "'num' = 0 is out of range"},
      {R"({"class": 1, "num": 5})", "expected 1..4"},
      {R"({"class": 1, "steps": 31})", "'steps' = 31 is out of range"},
      {R"({"class": 1, "steps": 99999999999999999999})", "'steps'"},
      {R"({"class": 1, "seed": -3})", "'seed' must be a non-negative integer"},
      {R"({"class": 1, "sampler": "ddim"})", "unknown sampler 'ddim'"},
      {R"({"class": 1, "sampler": 3})", "'sampler' must be a string"},
      {R"({"class": 1, "cfg_scale": "high"})", "'cfg_scale' must be a number"},
      {R"({"class": 1, "cfg_scale": 100})", "'cfg_scale' = 100 is out of range"},
      {R"({"class": 1, "budget": 0.1})", "keeps no latent"},
      {R"({"class": 1, "budget": 1.5})", "budget"},
      {R"({"class": 1, "uncond_budget": -1})", "'uncond_budget' = -1 is out of range"},
      {R"({"class": 1, "deadline_ms": 0})", "'deadline_ms' = 0 is out of range"},
      {R"({"class": 1, "deadline_ms": null})", "'deadline_ms' must be a number"},
      {R"({"class": 1, "id": "a b"})", "'id' must be 1..64"},
      {R"({"class": 1, "prompt": "a cat"})", "'prompt' is not supported"}};
  for (const auto& [body, fragment] : cases) {
    try {
      parse_generate_request(body, tiny_limits());
      ADD_FAILURE() << "accepted: " << body;
    } catch (const BadRequest& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << body << "\n"
                                                                         << e.what();
    }
  }
}

}  // namespace
}  // namespace elit::serve
