// The HTTP API of `elit serve` on a loopback ephemeral port: every endpoint, every class of bad
// input (400 with one JSON message), 401 with an API key, 503 for an infeasible deadline.
#include <gtest/gtest.h>

#include "elit/sampling/generate.h"
#include "serve/tiny_server.h"

namespace elit::serve {
namespace {
using nlohmann::json;
using testing::TinyServer;

TEST(ServeApi, GenerateAnswersJsonWithPngsAndFigures) {
  TinyServer server;
  auto c = server.client();
  const auto res =
      c.Post("/v1/generate", testing::generate_body(3, 11, 4, {{"num", 2}}), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto j = json::parse(res->body);
  ASSERT_EQ(j["images"].size(), 2u);
  const auto image = testing::decode_png(testing::base64_decode(j["images"][0]));
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{8, 8, 1}));
  EXPECT_EQ(j["seed"], 11);
  EXPECT_EQ(j["class"], 3);
  EXPECT_EQ(j["class_name"], "Dress");
  EXPECT_EQ(j["budget"]["per_step"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["budget"]["mean"].get<double>(), 1.0);  // no deadline: --budget (1)
  EXPECT_GT(j["flops"].get<int64_t>(), 0);
  EXPECT_GE(j["latency_ms"].get<double>(), j["compute_ms"].get<double>());
  EXPECT_TRUE(j["deadline_met"].get<bool>());
  EXPECT_TRUE(j.contains("queue_ms"));
}

TEST(ServeApi, ATextModelAnswersPromptsAndItsCaptionsAsClasses) {
  testing::TinyServerOptions o;
  o.text_model = true;
  o.table = testing::synthetic_table(1.0);
  TinyServer server(o);
  auto c = server.client();
  const auto model = json::parse(c.Get("/v1/model")->body);
  EXPECT_TRUE(model["prompts"].get<bool>());
  const auto by_prompt =
      c.Post("/v1/generate", R"({"prompt": "A photo of a BAG", "seed": 4, "steps": 3})",
             "application/json");
  ASSERT_TRUE(by_prompt);
  ASSERT_EQ(by_prompt->status, 200) << by_prompt->body;
  const auto p = json::parse(by_prompt->body);
  EXPECT_EQ(p["prompt"], "A photo of a BAG");
  EXPECT_FALSE(p.contains("class"));
  // Class 1 is the caption "a photo of a bag": the same condition, so the same image.
  const auto by_class = json::parse(
      c.Post("/v1/generate", testing::generate_body(1, 4, 3), "application/json")->body);
  EXPECT_EQ(by_class["class_name"], "a photo of a bag");
  EXPECT_EQ(p["images"][0], by_class["images"][0]);
  // A word the model never saw is the client's mistake, named in a 400.
  const auto unknown =
      c.Post("/v1/generate", R"({"prompt": "a photo of a cat"})", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("'cat' is not in the model's vocabulary"), std::string::npos)
      << unknown->body;
  const auto both =
      c.Post("/v1/generate", R"({"prompt": "a bag", "class": 1})", "application/json");
  EXPECT_EQ(both->status, 400);
  EXPECT_NE(both->body.find("either 'class'"), std::string::npos) << both->body;
}

TEST(ServeApi, PngAnswerCarriesTheFiguresInHeaders) {
  TinyServer server;
  auto c = server.client();
  const auto res = c.Post("/v1/generate", {{"Accept", "image/png"}},
                          testing::generate_body(1, 5, 3, {{"budget", 0.5}}), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(testing::decode_png(res->body).size(0), 8);
  EXPECT_EQ(std::stod(res->get_header_value("X-Elit-Budget")), 0.5);
  EXPECT_GT(std::stoll(res->get_header_value("X-Elit-Flops")), 0);
  EXPECT_GE(std::stod(res->get_header_value("X-Elit-Latency-Ms")), 0.0);
  EXPECT_EQ(res->get_header_value("X-Elit-Seed"), "5");
  const auto many = c.Post("/v1/generate", {{"Accept", "image/png"}},
                           testing::generate_body(1, 5, 3, {{"num", 2}}), "application/json");
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 400);
}

TEST(ServeApi, ModelHealthMetricsProgressAndPage) {
  TinyServer server;
  auto c = server.client();
  const auto model = c.Get("/v1/model");
  ASSERT_TRUE(model && model->status == 200);
  const auto m = json::parse(model->body);
  EXPECT_EQ(m["budgets"].size(), 4u);
  EXPECT_EQ(m["cost_table"]["forward_ms"].size(), 4u);
  EXPECT_EQ(m["classes"][7], "Sneaker");
  EXPECT_EQ(m["policy"], "elastic");
  EXPECT_DOUBLE_EQ(m["headroom"].get<double>(), 0.2);
  EXPECT_TRUE(m["plan_arrivals"].get<bool>());
  const auto health = c.Get("/healthz");
  ASSERT_TRUE(health && health->status == 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  ASSERT_EQ(
      c.Post("/v1/generate", testing::generate_body(0, 1, 2, {{"id", "abc"}}), "application/json")
          ->status,
      200);
  const auto progress = c.Get("/v1/progress?id=abc");
  ASSERT_TRUE(progress && progress->status == 200);
  const auto p = json::parse(progress->body);
  EXPECT_EQ(p["state"], "done");
  EXPECT_EQ(p["step"], 2);
  EXPECT_EQ(c.Get("/v1/progress?id=nope")->status, 404);
  const auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  for (const char* line : {"elit_requests_served_total 1", "elit_queue_depth 0",
                           "elit_request_latency_seconds_count 1", "elit_budget_served_bucket",
                           "elit_deadline_misses_total 0", "elit_requests_rejected_total 0",
                           "elit_planner_time_scale ", "elit_arrival_rate ",
                           "elit_forward_seconds_total ", "elit_forward_table_seconds_total "}) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line << "\n" << metrics->body;
  }
  const auto page = c.Get("/");
  ASSERT_TRUE(page && page->status == 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  const auto missing = c.Get("/v2/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("error"));
}

TEST(ServeApi, BadInputIsA400WithOneJsonMessage) {
  TinyServer server;
  auto c = server.client();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "malformed JSON"},
      {"{\"class\": 1, \xff\xfe}", "malformed JSON"},  // the message quotes bytes not UTF-8
      {R"({"class": 1, "extra": 2})", "unknown field 'extra'"},
      {R"({"class": "1"})", "unknown class '1'"},
      {R"({"class": 1, "steps": "4"})", "'steps' must be an integer"},
      {R"({"class": 1, "num": 17})", "'num' = 17 is out of range"},
      {R"({"class": 1, "steps": 51})", "'steps' = 51 is out of range"},
      {R"({"class": 42})", "unknown class 42"},
      {"{\"class\": 1, \"id\": \"" + std::string(70 * 1024, 'x') + "\"}", "larger than 64 KiB"}};
  for (const auto& [body, fragment] : cases) {
    const auto res = c.Post("/v1/generate", body, "application/json");
    ASSERT_TRUE(res) << body.substr(0, 60);
    EXPECT_EQ(res->status, 400) << body.substr(0, 60);
    const auto j = json::parse(res->body);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_NE(j["error"].get<std::string>().find(fragment), std::string::npos) << j["error"];
  }
  // The server still serves after all that.
  EXPECT_EQ(c.Post("/v1/generate", testing::generate_body(1, 1, 2), "application/json")->status,
            200);
  EXPECT_NE(c.Get("/metrics")->body.find("elit_requests_bad_total 9"), std::string::npos);
}

TEST(ServeApi, ApiKeyIsRequiredWhenSet) {
  testing::TinyServerOptions o;
  o.api_key = "s3cret";
  TinyServer server(o);
  auto c = server.client();
  const auto body = testing::generate_body(1, 1, 2);
  const auto none = c.Post("/v1/generate", body, "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_TRUE(json::parse(none->body).contains("error"));
  EXPECT_EQ(
      c.Post("/v1/generate", {{"Authorization", "Bearer wrong"}}, body, "application/json")->status,
      401);
  EXPECT_EQ(c.Get("/v1/model")->status, 401);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Post("/v1/generate", {{"Authorization", "Bearer s3cret"}}, body, "application/json")
                ->status,
            200);
  EXPECT_EQ(c.Get("/v1/model", {{"X-API-Key", "s3cret"}})->status, 200);
  EXPECT_EQ(c.Get("/healthz")->status, 200);  // health checks need no key
}

TEST(ServeApi, InfeasibleDeadlineIsRefusedAtOnceWithRetryAfter) {
  testing::TinyServerOptions o;
  o.table = testing::synthetic_table(/*ms_at_full=*/20.0);  // >= 5 ms per step at any budget
  TinyServer server(o);
  auto c = server.client();
  const auto res = c.Post("/v1/generate", testing::generate_body(1, 1, 10, {{"deadline_ms", 2}}),
                          "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_GE(std::stoi(res->get_header_value("Retry-After")), 1);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("cannot be met"),
            std::string::npos);
  const auto ok = c.Post("/v1/generate", testing::generate_body(1, 1, 10, {{"deadline_ms", 5000}}),
                         "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

}  // namespace
}  // namespace elit::serve
