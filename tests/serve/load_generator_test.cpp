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
  // The server's evaluations during the run, from its /metrics before and after.
  ASSERT_TRUE(j["server"].is_object()) << j.dump(2);
  EXPECT_GT(j["server"]["forward_seconds"].get<double>(), 0);
  EXPECT_GT(j["server"]["table_seconds"].get<double>(), 0);
  EXPECT_GT(j["server"]["busy_fraction"].get<double>(), 0);
  EXPECT_LE(j["server"]["busy_fraction"].get<double>(), 1);
}

TEST(LoadGenerator, ReportsTheServersTimeOnlyWhenItsTotalsMakeSense) {
  LoadResult r;
  r.wall_s = 10;
  EXPECT_TRUE(r.report()["server"].is_null());  // the server did not say (NaN)
  r.server_forward_s = 4;
  r.server_table_s = 2;
  const auto server = r.report()["server"];
  EXPECT_DOUBLE_EQ(server["time_over_table"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(server["busy_fraction"].get<double>(), 0.4);
  r.server_forward_s = -3;  // counters went backwards: the server restarted mid-run
  r.server_table_s = -1;
  EXPECT_TRUE(r.report()["server"].is_null());
}

TEST(LoadGenerator, ReadsAPrometheusSampleByItsExactName) {
  const std::string text =
      "# HELP a_total Things.\n# TYPE a_total counter\na_total 12.5\na_total_more 3\n"
      "b 1e400\nc nan\nd{le=\"1\"} 4\ne\n";
  EXPECT_EQ(prometheus_value(text, "a_total"), 12.5);
  EXPECT_EQ(prometheus_value(text, "a_total_more"), 3.0);
  EXPECT_FALSE(prometheus_value(text, "a"));  // a prefix is not the name
  EXPECT_FALSE(prometheus_value(text, "b"));  // overflows to infinity
  EXPECT_FALSE(prometheus_value(text, "c"));  // not finite
  EXPECT_FALSE(prometheus_value(text, "d"));  // labelled samples are not read
  EXPECT_FALSE(prometheus_value(text, "e"));  // no value
  EXPECT_FALSE(prometheus_value(text, "missing"));
  EXPECT_FALSE(prometheus_value("", "a_total"));
}

}  // namespace
}  // namespace elit::serve
