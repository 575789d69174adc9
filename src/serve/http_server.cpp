#include "elit/serve/http_server.h"

#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <cerrno>
#include <cmath>
#include <thread>

#include "elit/serve/encoding.h"

namespace elit::serve {
namespace {
using nlohmann::json;

int port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

// The socket of this request's connection, found by its two ports (httplib gives handlers no
// socket), so that a waiting handler can see its client go away; -1 when not found. The socket
// stays open while the handler runs, so its number cannot be reused meanwhile.
int connection_socket(const httplib::Request& req) {
  for (int fd = 3; fd < 65536; ++fd) {
    sockaddr_storage local{}, peer{};
    socklen_t n = sizeof local, m = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0) {
      if (errno == EBADF && fd > 4096) break;  // far past the open descriptors
      continue;
    }
    if (port_of(local) != req.local_port) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &m) == 0 &&
        port_of(peer) == req.remote_port) {
      return fd;
    }
  }
  return -1;
}

// True when the peer has closed (or reset) the connection.
bool client_gone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // A parse error quotes the client's bytes, which need not be UTF-8: replace, never throw.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

json budget_summary(const std::vector<double>& budgets) {
  double mean = 0, lo = 1e300, hi = 0;
  for (double b : budgets) {
    mean += b;
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  mean /= std::max<size_t>(budgets.size(), 1);
  return {{"mean", mean}, {"min", budgets.empty() ? 0 : lo}, {"max", hi}, {"per_step", budgets}};
}

// Debian's compiled cpp-httplib listens with a backlog of 5, so a burst of clients overflows the
// accept queue and some connections are reset. Linux lets listen() be called again on a
// listening socket to change its backlog: find ours (listening, on our port) and widen it.
void widen_listen_backlog(int port) {
  for (int fd = 3; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage local{};
    socklen_t n = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) == 0 && port_of(local) == port) {
      ::listen(fd, SOMAXCONN);
    }
  }
}

}  // namespace

struct HttpServer::Impl {
  Engine& engine;
  RequestLimits limits;
  json model_info;
  HttpOptions options;
  httplib::Server server;
  std::atomic<bool> stopping{false};
  std::atomic<bool> serving{false};

  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty()) return true;
    const bool ok = req.get_header_value("Authorization") == "Bearer " + options.api_key ||
                    req.get_header_value("X-API-Key") == options.api_key;
    if (!ok) {
      engine.metrics().unauthorized();
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "missing or wrong API key (send 'Authorization: Bearer KEY')");
    }
    return ok;
  }

  void generate(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    GenerateRequest r;
    try {
      r = parse_generate_request(req.body, limits);
      const bool png = req.get_header_value("Accept").find("image/png") != std::string::npos;
      if (png && r.num != 1) throw BadRequest("'Accept: image/png' answers one image: set num 1");
    } catch (const BadRequest& e) {
      engine.metrics().bad_request();
      return send_error(res, 400, e.what());
    }
    const auto admission = engine.submit(r);
    if (!admission.job) {
      res.set_header("Retry-After", std::to_string(std::lround(admission.retry_after_s)));
      return send_error(res, 503, admission.rejection);
    }
    const auto& job = admission.job;
    int fd = -2;  // looked up once the request has to wait
    while (!engine.wait(*job, std::chrono::milliseconds(50))) {
      if (fd == -2) fd = connection_socket(req);
      if (client_gone(fd)) return engine.abandon(job);  // nobody to answer
    }
    if (job->state != JobState::done) return send_error(res, 500, job->result.error);
    answer(req, res, *job);
    job->result.images = torch::Tensor();  // progress keeps the job; not its images
  }

  json condition(const GenerateRequest& r) const {
    if (!r.prompt.empty()) return {{"prompt", r.prompt}};
    return {{"class", r.label}, {"class_name", limits.class_names.at(r.label)}};
  }

  void answer(const httplib::Request& req, httplib::Response& res, const Job& job) {
    const auto& result = job.result;
    const auto pngs = encode_pngs(result.images);
    const auto budget = budget_summary(result.budgets);
    if (req.get_header_value("Accept").find("image/png") != std::string::npos) {
      res.set_header("X-Elit-Budget", budget["mean"].dump());
      res.set_header("X-Elit-Flops", std::to_string(result.flops));
      res.set_header("X-Elit-Queue-Ms", std::to_string(result.queue_ms));
      res.set_header("X-Elit-Compute-Ms", std::to_string(result.compute_ms));
      res.set_header("X-Elit-Latency-Ms", std::to_string(result.latency_ms));
      res.set_header("X-Elit-Deadline-Met", result.deadline_met ? "true" : "false");
      res.set_header("X-Elit-Seed", std::to_string(job.request.seed));
      res.set_content(pngs.front(), "image/png");
      return;
    }
    json images = json::array();
    for (const auto& p : pngs) images.push_back(base64_encode(p));
    const auto& r = job.request;
    auto body = condition(job.request);
    body.update(json{{"images", images},
                     {"format", "png"},
                     {"budget", budget},
                     {"flops", result.flops},
                     {"queue_ms", result.queue_ms},
                     {"compute_ms", result.compute_ms},
                     {"latency_ms", result.latency_ms},
                     {"deadline_ms", r.deadline_ms ? json(*r.deadline_ms) : json(nullptr)},
                     {"deadline_met", result.deadline_met},
                     {"seed", r.seed},
                     {"num", r.num},
                     {"steps", r.steps},
                     {"sampler", sampling::sampler_name(r.sampler)}});
    send_json(res, 200, body);
  }

  json describe() const {
    auto j = model_info;
    j["policy"] = engine.options().policy == Policy::elastic ? "elastic" : "fixed";
    j["default_budget"] = engine.options().default_budget;
    j["headroom"] = engine.options().headroom;
    j["plan_arrivals"] = engine.options().plan_arrivals;
    j["max_batch"] = engine.options().max_batch;
    j["max_num"] = limits.max_num;
    j["max_steps"] = limits.max_steps;
    j["default_steps"] = limits.default_steps;
    j["classes"] = limits.class_names;
    j["prompts"] = static_cast<bool>(limits.check_prompt);
    j["budgets"] = engine.table().budgets;
    j["cost_table"] = engine.table().to_json();
    j["request_fields"] = request_fields();
    return j;
  }

  void routes() {
    server.Post("/v1/generate", [this](const auto& req, auto& res) { generate(req, res); });
    server.Get("/v1/model", [this](const auto& req, auto& res) {
      if (authorized(req, res)) send_json(res, 200, describe());
    });
    server.Get("/v1/progress", [this](const auto& req, auto& res) {
      if (!authorized(req, res)) return;
      const auto p = engine.progress(req.get_param_value("id"));
      if (!p) return send_error(res, 404, "no request with id '" + req.get_param_value("id") + "'");
      send_json(res, 200, *p);
    });
    server.Get("/healthz", [this](const auto&, auto& res) {
      if (stopping) return send_json(res, 503, {{"status", "stopping"}});
      send_json(res, 200, {{"status", "ok"}});
    });
    server.Get("/metrics", [this](const auto& req, auto& res) {
      if (authorized(req, res))
        res.set_content(engine.render_metrics(), "text/plain; version=0.0.4");
    });
    server.Get("/", [](const auto&, auto& res) {
      res.set_content(web_page(), "text/html; charset=utf-8");
    });
    // httplib answers an oversized body with 413 and unknown paths with 404 on its own; give
    // them the API's JSON shape (an oversized body is bad input: 400).
    server.set_error_handler([this](const auto& req, auto& res) {
      if (res.status == 413) {
        engine.metrics().bad_request();
        return send_error(
            res, 400,
            "the body is larger than " + std::to_string(options.max_body / 1024) + " KiB");
      }
      if (res.status == 404 && res.body.empty()) {
        return send_error(res, 404, "no endpoint " + req.method + " " + req.path);
      }
    });
    server.set_exception_handler([](const auto&, auto& res, std::exception_ptr e) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      send_error(res, 500, what);
    });
  }
};

HttpServer::HttpServer(Engine& engine, RequestLimits limits, nlohmann::json model_info,
                       HttpOptions options)
    : impl_(new Impl{
          engine, std::move(limits), std::move(model_info), std::move(options), {}, {}, {}}) {
  const int threads = impl_->options.threads > 0
                          ? impl_->options.threads
                          : static_cast<int>(engine.options().max_queue) + 16;
  // Every waiting request holds a connection thread, so the pool must hold the whole queue.
  impl_->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->server.set_payload_max_length(impl_->options.max_body);
  impl_->routes();
}

HttpServer::~HttpServer() {
  stop();
}

int HttpServer::bind() {
  auto& s = impl_->server;
  const auto& o = impl_->options;
  const bool ok = o.port == 0 ? (port_ = s.bind_to_any_port(o.host)) > 0
                              : s.bind_to_port(o.host, o.port) && (port_ = o.port) > 0;
  check(ok, "cannot listen on ", o.host, ":", o.port, " (in use, or not an address of this host)");
  widen_listen_backlog(port_);
  return port_;
}

void HttpServer::serve() {
  impl_->server.listen_after_bind();
}

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->engine.shutdown();  // new submissions are refused; admitted ones finish
  impl_->server.stop();
}

}  // namespace elit::serve
