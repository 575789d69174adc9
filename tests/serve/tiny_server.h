// A tiny ELIT-SiT (8x8, 10 classes, 4 latents per group) served on an ephemeral loopback port
// in this process, for the serving tests: fast enough that every test takes well under seconds.
#pragma once
#include <httplib.h>

#include <memory>
#include <thread>

#include "elit/serve/http_server.h"

namespace elit::testing {

// The tiny model's file (written once per process), as `elit sample --ckpt` reads it.
const std::string& tiny_model_path();
// A tiny ELIT-MM-DiT with the built-in text path (prompts; its captions are its classes).
const std::string& tiny_text_model_path();

// A cost table for the tiny model's budgets: `ms_at_full` per forward row at budget 1, linear in
// budget and rows, so that planning tests do not depend on this machine's speed.
serve::CostTable synthetic_table(double ms_at_full);

struct TinyServerOptions {
  serve::Policy policy = serve::Policy::elastic;
  std::string api_key;
  std::optional<serve::CostTable> table;  // unset: calibrated from real forwards (1 repeat)
  bool follow_measured_speed = false;     // true: the engine rescales the table as it measures
  int64_t max_batch = 8;
  bool continuous = true;  // false: static batching
  int64_t max_queue = 256;
  bool text_model = false;       // serve tiny_text_model_path() (prompts) instead of the tiny SiT
  double arrival_window_s = 10;  // EngineOptions::arrival_window_s
};

class TinyServer {
 public:
  explicit TinyServer(TinyServerOptions options = {});
  ~TinyServer();
  int port() const { return port_; }
  httplib::Client client() const;  // loopback, long timeouts
  serve::Engine& engine() { return *engine_; }
  void stop();  // graceful; waits for the listener to close

 private:
  models::ModelPtr model_;
  std::unique_ptr<serve::Engine> engine_;
  std::unique_ptr<serve::HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

// The request body {"class": c, "seed": s, "steps": n, ...extra}.
std::string generate_body(int64_t label, uint64_t seed, int64_t steps,
                          const nlohmann::json& extra = nlohmann::json::object());

// Decodes base64 (RFC 4648) and a PNG's bytes into uint8 [H, W, C].
std::string base64_decode(const std::string& text);
torch::Tensor decode_png(const std::string& bytes);

}  // namespace elit::testing
