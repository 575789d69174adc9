// The HTTP face of the engine (cpp-httplib): POST /v1/generate, GET /v1/model, /v1/progress,
// /healthz, /metrics and the web page at /. Bad input is a 400 with one JSON message; a missing
// or wrong key (when one is set) a 401; an infeasible deadline or a full queue a 503 with
// Retry-After. Built as its own target (elit_serve) so that the core library stays free of the
// HTTP dependency.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "elit/serve/engine.h"

namespace elit::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0 = any free port
  std::string api_key;  // "" = open
  size_t max_body = 64 * 1024;
  int threads = 0;  // connection threads; 0 = the engine's queue limit + 16
};

class HttpServer {
 public:
  // `model_info`: what GET /v1/model describes besides the engine's cost table and policy.
  HttpServer(Engine& engine, RequestLimits limits, nlohmann::json model_info, HttpOptions options);
  ~HttpServer();
  // Binds the socket; returns the port (the chosen one when options.port is 0). Throws
  // elit::Error when the address cannot be bound.
  int bind();
  // Serves until stop(); call bind() first.
  void serve();
  // Graceful: new requests get 503, the engine finishes everything admitted, then the listener
  // closes and serve() returns. Safe to call from any thread, more than once.
  void stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// The web page (GET /), compiled into the binary.
const std::string& web_page();

}  // namespace elit::serve
