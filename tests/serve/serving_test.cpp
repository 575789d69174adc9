// The server under load and at its edges: 64 concurrent clients, images equal to `elit sample`,
// the elastic policy lowering the budget under a scripted overload (ordering, not wall times),
// graceful shutdown finishing in-flight requests, and a client that hangs up mid-request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <future>
#include <thread>

#include <torch/torch.h>

#include "elit/io/npz.h"
#include "serve/tiny_server.h"
#include "support/reference.h"

namespace elit::serve {
namespace {
using nlohmann::json;
using testing::TinyServer;

json post(TinyServer& server, const std::string& body, int* status = nullptr) {
  auto c = server.client();
  const auto res = c.Post("/v1/generate", body, "application/json");
  if (status) *status = res ? res->status : -1;
  if (!res) return json(httplib::to_string(res.error()));
  return res->status == 200 || res->body.front() == '{' ? json::parse(res->body) : json(res->body);
}

TEST(Serving, SixtyFourConcurrentClientsAllGetTheirOwnImages) {
  TinyServer server;
  // The answer each client must get: its seed served alone.
  std::vector<std::future<json>> answers;
  for (int i = 0; i < 64; ++i) {
    answers.push_back(std::async(std::launch::async, [&server, i] {
      int status = 0;
      auto j = post(server, testing::generate_body(i % 10, 100 + i, 3), &status);
      return status == 200 ? j : json{{"status", status}, {"body", j}};
    }));
  }
  std::vector<json> got;
  for (auto& a : answers) got.push_back(a.get());
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(got[i].contains("images")) << i << " " << got[i].dump();
    EXPECT_EQ(got[i]["seed"], 100 + i);
    EXPECT_EQ(got[i]["class"], i % 10);
  }
  // Spot-check a few against the same request served alone (batching changes only round-off).
  for (int i : {0, 31, 63}) {
    const auto alone = post(server, testing::generate_body(i % 10, 100 + i, 3));
    const auto a = testing::decode_png(testing::base64_decode(got[i]["images"][0]));
    const auto b = testing::decode_png(testing::base64_decode(alone["images"][0]));
    EXPECT_LE((a.to(torch::kInt32) - b.to(torch::kInt32)).abs().max().item<int>(), 1) << i;
  }
  const auto metrics = server.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("elit_requests_served_total 67"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("elit_queue_depth 0"), std::string::npos);
}

TEST(Serving, ImagesEqualElitSampleForTheSameSeedBudgetAndSteps) {
  TinyServer server;
  const auto j = post(server, testing::generate_body(4, 9, 5, {{"num", 3}, {"budget", 0.5}}));
  ASSERT_EQ(j["images"].size(), 3u);
  const auto out = testing::temp_dir("serve_vs_sample");
  const std::string command = std::string(ELIT_CLI_PATH) + " --quiet --threads " +
                              std::to_string(torch::get_num_threads()) + " sample --ckpt " +
                              testing::tiny_model_path() +
                              " --classes 4 --num 3 --seed 9 --steps 5 --budget 0.5 --out " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto expected = io::read_npz(out + "/samples.npz").at("arr_0");  // [3, 8, 8, 1] uint8
  for (int64_t i = 0; i < 3; ++i) {
    const auto got = testing::decode_png(testing::base64_decode(j["images"][i]));
    EXPECT_TRUE(torch::equal(got, expected[i])) << "image " << i;
  }
}

// Submits `n` requests at once to the engine and returns their mean budgets in arrival order.
std::vector<double> burst(Engine& engine, int n, double deadline_ms) {
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < n; ++i) {
    GenerateRequest r;
    r.label = i % 10;
    r.seed = i;
    r.steps = 8;
    r.deadline_ms = deadline_ms;
    const auto a = engine.submit(r);
    EXPECT_TRUE(a.job) << a.rejection;
    if (a.job) jobs.push_back(a.job);
  }
  std::vector<double> means;
  for (const auto& j : jobs) {
    EXPECT_TRUE(engine.wait(*j, std::chrono::seconds(60)));
    double sum = 0;
    for (double b : j->result.budgets) sum += b;
    means.push_back(sum / static_cast<double>(j->result.budgets.size()));
  }
  return means;
}

// Continuous batching: a request that arrives while another runs joins it at the next model
// evaluation, at its own step and time, and leaves when it is done, instead of waiting for the
// running one to end. Its images are those it gets alone (up to batching round-off).
// Submits a long request, then, once it runs, a short one; returns the long one's steps done
// when the short one finished, and checks both.
int64_t long_steps_when_short_one_ends(TinyServer& server) {
  auto& engine = server.engine();
  GenerateRequest long_one;
  long_one.label = 2;
  long_one.seed = 5;
  long_one.num = 4;
  long_one.steps = 400;
  long_one.sampler = sampling::SamplerKind::heun;  // samplers and steps may differ
  const auto a = engine.submit(long_one);
  EXPECT_TRUE(a.job) << a.rejection;
  if (!a.job) return -1;
  while (engine.steps_done(*a.job) < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  GenerateRequest short_one;
  short_one.label = 7;
  short_one.seed = 11;
  short_one.num = 2;
  short_one.steps = 3;
  const auto b = engine.submit(short_one);
  EXPECT_TRUE(b.job) << b.rejection;
  if (!b.job) return -1;
  EXPECT_TRUE(engine.wait(*b.job, std::chrono::seconds(120)));
  const int64_t steps = engine.steps_done(*a.job);
  EXPECT_TRUE(engine.wait(*a.job, std::chrono::seconds(120)));
  EXPECT_EQ(a.job->result.budgets.size(), 400u);
  EXPECT_EQ(b.job->result.budgets.size(), 3u);
  // Inference keeps no autograd graph (it would chain every forward of requests that shared).
  EXPECT_FALSE(a.job->result.images.requires_grad());
  // Alone, the short request gives the same images (batching changes only round-off).
  const auto alone = engine.submit(short_one);
  EXPECT_TRUE(alone.job && engine.wait(*alone.job, std::chrono::seconds(60)));
  if (alone.job) {
    EXPECT_LT((alone.job->result.images - b.job->result.images).abs().max().item<double>(), 1e-4);
  }
  return steps;
}

// Continuous batching: a request that arrives while another runs joins it at the next model
// evaluation, at its own step and time, and leaves when it is done; with static batching it
// waits for the running one to end.
TEST(Serving, ARequestJoinsTheRunningOneAndFinishesFirst) {
  TinyServer continuous;
  EXPECT_LT(long_steps_when_short_one_ends(continuous), 400)
      << "the short request waited for the long one";
  testing::TinyServerOptions o;
  o.continuous = false;
  TinyServer fixed_batches(o);
  EXPECT_EQ(long_steps_when_short_one_ends(fixed_batches), 400);
}

TEST(Serving, ElasticPolicyLowersTheBudgetUnderOverloadAndRaisesItAfter) {
  testing::TinyServerOptions o;
  // The planner's view: 8 steps cost 800 ms at budget 1 and 200 ms at 0.25 per request; the
  // real forwards take a few ms, so slow scheduling on a busy machine cannot eat the slack.
  o.table = testing::synthetic_table(/*ms_at_full=*/100.0);
  o.max_batch = 1;  // one request per forward, so that the queue is visible to the planner
  // Load has fallen when the burst's arrivals are older than this: the planner then stops
  // making room for more arrivals like them.
  o.arrival_window_s = 0.5;
  TinyServer server(o);
  auto& engine = server.engine();
  const auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const double before = mean(burst(engine, 1, 4000));     // alone: 800 ms of 4 s
  const double overload = mean(burst(engine, 12, 4000));  // 12 x 800 ms >> 4 s
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const double after = mean(burst(engine, 1, 4000));
  EXPECT_DOUBLE_EQ(before, 1.0);
  EXPECT_LT(overload, before);
  EXPECT_DOUBLE_EQ(after, 1.0);
  // The fixed policy keeps its budget whatever the load.
  o.policy = Policy::fixed;
  TinyServer fixed(o);
  EXPECT_DOUBLE_EQ(mean(burst(fixed.engine(), 12, 4000)), 1.0);
}

TEST(Serving, ThePlannerLearnsHowFastTheMachineRunsNow) {
  const auto scale_after_one_request = [](double ms_at_full) {
    testing::TinyServerOptions o;
    o.table = testing::synthetic_table(ms_at_full);
    o.follow_measured_speed = true;
    TinyServer server(o);
    burst(server.engine(), 1, 1e6);  // 8 steps
    return server.engine().time_scale();
  };
  // A table 10^4 times too optimistic: the measured steps are slower, so the scale rises; one
  // 10^4 times too pessimistic: it falls (to the tracker's bounds, 8 and 1/4).
  EXPECT_GT(scale_after_one_request(1e-4), 1.5);
  EXPECT_LT(scale_after_one_request(1e4), 0.9);
}

TEST(Serving, GracefulStopFinishesRequestsInFlight) {
  TinyServer server;
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 8; ++i) {
    answers.push_back(std::async(std::launch::async, [&server, i] {
      int status = 0;
      post(server, testing::generate_body(i, i, 40, {{"num", 4}}), &status);
      return status;
    }));
  }
  // Stop once the engine has admitted all of them, as a signal would (a busy machine can take
  // seconds to accept eight connections).
  const auto all_admitted = [&] {
    return server.engine().render_metrics().find("elit_requests_accepted_total 8") !=
           std::string::npos;
  };
  for (int spin = 0; spin < 12000 && !all_admitted(); ++spin) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(all_admitted());
  server.stop();
  for (auto& a : answers) EXPECT_EQ(a.get(), 200);
  EXPECT_FALSE(server.client().Get("/healthz"));  // nobody listens any more
}

// Sends a request over a raw socket and closes it without reading the answer.
void post_and_hang_up(int port, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request =
      "POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::close(fd);
}

TEST(Serving, AClientThatHangsUpDoesNotStallTheQueue) {
  TinyServer server;
  // A long request, then hang-ups while it runs and while others wait behind it.
  for (int i = 0; i < 3; ++i) {
    post_and_hang_up(
        server.port(),
        testing::generate_body(i, i, 50, {{"num", 16}, {"id", "gone" + std::to_string(i)}}));
  }
  int status = 0;
  const auto j = post(server, testing::generate_body(1, 1, 2), &status);
  EXPECT_EQ(status, 200);
  // Every abandoned request is either dropped from the queue or finished: none stays. A handler
  // looks at its socket every 50 ms, so one that was submitted after the short request may still
  // be noticing; it must be gone (failed, or done) within a few of those looks.
  for (int i = 0; i < 3; ++i) {
    std::optional<nlohmann::json> p;
    for (int look = 0; look < 100; ++look) {
      p = server.engine().progress("gone" + std::to_string(i));
      if (p && (*p)["state"] != "queued" && (*p)["state"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(p);
    EXPECT_NE((*p)["state"], "queued") << "gone" << i;
  }
  const auto metrics = server.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("elit_queue_depth 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("elit_running_requests 0"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace elit::serve
