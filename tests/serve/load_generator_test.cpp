// The load generator: loopback-only URLs, percentiles, and a short bounded open-loop run against
// a tiny server whose report adds up.
#include <gtest/gtest.h>

#include <cmath>

#include "elit/runtime/error.h"
#include "elit/serve/load_generator.h"
#include "serve/tiny_server.h"

namespace elit::serve {
namespace {

TEST(LoadGenerator, PercentilesInterpolate) {
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({5}, 99), 5.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 100), 5.0);
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}

TEST(LoadGenerator, SendsOnlyToThisMachine) {
  LoadOptions o;
  for (const char* url : {"http://example.com:8080", "http://10.0.0.1:80", "https://127.0.0.1:1",
                          "http://127.0.0.1.evil.org:80", "ftp://localhost"}) {
    o.url = url;
    EXPECT_THROW(run_load(o), Error) << url;
  }
  o.url = "http://127.0.0.1:1";
  o.rate = 0;
  EXPECT_THROW(run_load(o), Error);
}

TEST(LoadGenerator, ShortOpenLoopRunAddsUp) {
  testing::TinyServer server;
  LoadOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(server.port());
  o.rate = 40;
  o.duration_s = 0.5;
  o.steps = 2;
  o.deadline_ms = 10000;
  o.max_requests = 30;
  o.keep_images = true;
  const auto r = run_load(o);
  EXPECT_GT(r.sent, 0);
  EXPECT_LE(r.sent, 30);
  EXPECT_EQ(r.served + r.rejected + r.failed, r.sent);
  EXPECT_EQ(r.served, r.sent);  // a light load on a generous deadline: all served
  EXPECT_EQ(r.images.size(0), r.served);
  EXPECT_EQ(r.images.sizes().slice(1), (std::vector<int64_t>{8, 8, 1}));
  const auto j = r.report();
  EXPECT_DOUBLE_EQ(j["deadline_met_fraction"].get<double>(), 1.0);
  EXPECT_LE(j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_GT(j["flops_total"].get<double>(), 0);
  EXPECT_GT(j["mean_budget"].get<double>(), 0);
}

}  // namespace
}  // namespace elit::serve
