// `elit serve` as a user runs it: a latent model with its decoder (--vae) answers RGB PNGs, and
// SIGTERM finishes the request in flight before the process exits 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "elit/io/image.h"
#include "support/tiny_latent_model.h"

extern char** environ;

namespace elit::serve {
namespace {

// `elit serve ...` in the background, its stdout and stderr in files.
struct ServerProcess {
  pid_t pid = -1;
  std::string out, log;
};

ServerProcess start(const std::string& dir, const std::vector<std::string>& args) {
  ServerProcess p;
  p.out = dir + "/serve.out";
  p.log = dir + "/serve.log";
  std::vector<std::string> argv{ELIT_CLI_PATH, "--threads", "1", "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, 2, p.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_EQ(posix_spawn(&p.pid, raw[0], &files, nullptr, raw.data(), environ), 0);
  posix_spawn_file_actions_destroy(&files);
  return p;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The port the server printed ("... at http://127.0.0.1:PORT/"), or 0 when it exited or timed out.
int wait_for_port(const ServerProcess& p) {
  const std::regex url(R"(http://127\.0\.0\.1:([0-9]+)/)");
  for (int i = 0; i < 1200; ++i) {
    std::smatch m;
    const auto out = slurp(p.out);
    if (std::regex_search(out, m, url)) return std::stoi(m[1]);
    if (waitpid(p.pid, nullptr, WNOHANG) == p.pid) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

TEST(ServeCli, ALatentModelWithItsVaeAnswersRgbAndSigtermFinishesInFlight) {
  const auto m = testing::write_tiny_latent_model("serve_cli");
  auto p = start(m.dir, {"--ckpt", m.ckpt, "--vae", m.vae, "--port", "0", "--steps", "2",
                         "--calibration-cache", "", "--calibration-repeats", "1"});
  const int port = wait_for_port(p);
  ASSERT_GT(port, 0) << slurp(p.log);
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  const auto png = c.Post("/v1/generate", {{"Accept", "image/png"}}, R"({"class": 1, "seed": 2})",
                          "application/json");
  ASSERT_TRUE(png);
  ASSERT_EQ(png->status, 200) << png->body;
  // 8x8x1 latents decoded by the f = 2 VAE: a 16x16 RGB image.
  EXPECT_EQ(io::decode_image(png->body, "answer").sizes(), (torch::IntArrayRef{16, 16, 3}));
  const auto model = c.Get("/v1/model");
  ASSERT_TRUE(model);
  EXPECT_NE(model->body.find(R"("decoder":"vae")"), std::string::npos) << model->body;

  // A long request, then SIGTERM once the server has admitted it: it is still answered.
  auto in_flight = std::async(std::launch::async, [port] {
    httplib::Client slow("127.0.0.1", port);
    slow.set_read_timeout(300, 0);
    const auto r =
        slow.Post("/v1/generate", R"({"class": 2, "steps": 60, "num": 8})", "application/json");
    return r ? r->status : -1;
  });
  for (int i = 0; i < 2000; ++i) {
    const auto metrics = c.Get("/metrics");
    if (metrics && metrics->body.find("elit_requests_accepted_total 2") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(::kill(p.pid, SIGTERM), 0);
  EXPECT_EQ(in_flight.get(), 200);
  int status = 0;
  ASSERT_EQ(waitpid(p.pid, &status, 0), p.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(p.log);
}

TEST(ServeCli, ALatentModelWithoutADecoderIsAClearError) {
  const auto m = testing::write_tiny_latent_model("serve_cli_no_vae");
  auto p = start(m.dir, {"--ckpt", m.ckpt, "--port", "0", "--calibration-cache", ""});
  int status = 0;
  ASSERT_EQ(waitpid(p.pid, &status, 0), p.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_NE(slurp(p.log).find("give its decoder with --vae"), std::string::npos) << slurp(p.log);
}

}  // namespace
}  // namespace elit::serve
