// The web page in a real headless browser (Debian chromium): the page generates on load from URL
// parameters, and the DOM chromium dumps must show the image and its latency.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <regex>

#include "serve/tiny_server.h"
#include "support/reference.h"

namespace elit::serve {
namespace {

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  pclose(pipe);
  return out;
}

std::string chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (!run(std::string("command -v ") + name).empty()) return name;
  }
  return "";
}

TEST(WebPage, GeneratesInHeadlessChromiumAndShowsTheImageAndItsLatency) {
  const auto browser = chromium();
  ASSERT_FALSE(browser.empty())
      << "no chromium: install it with ELIT_WITH_TEST_DEPS=1 scripts/setup.sh (Debian chromium)";
  testing::TinyServer server;
  const auto url = "http://127.0.0.1:" + std::to_string(server.port()) +
                   "/?class=7&seed=3&steps=6&budget=auto&deadline=5000&run=1";
  const auto profile = testing::temp_dir("serve_chromium_profile");
  // --virtual-time-budget lets the page's fetches finish before the DOM is dumped.
  const auto dom =
      run("timeout 120 " + browser +
          " --headless --no-sandbox --disable-gpu --no-first-run"
          " --user-data-dir=" +
          profile + " --virtual-time-budget=30000 --dump-dom '" + url + "' 2>/dev/null");
  // On failure, the page's body (its error line and stats), not the style sheet.
  const auto body = dom.substr(std::min(dom.find("<body"), dom.size()), 6000);
  ASSERT_NE(dom.find("data-state=\"done\""), std::string::npos) << body;
  EXPECT_TRUE(std::regex_search(
      dom, std::regex(R"(<img id="result"[^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{40,})")))
      << body;
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(id="latency">[0-9.]+ m?s<)"))) << body;
  EXPECT_NE(dom.find("Sneaker"), std::string::npos);
  // The page's request went through the server.
  EXPECT_NE(server.client().Get("/metrics")->body.find("elit_requests_served_total 1"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::serve
