// elit serve: one model loaded once, answering generation requests over HTTP with a budget per
// request chosen so that deadlines hold under load (the library's serve/ area does the work;
// this file parses flags, loads the model and wires signals).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.h"
#include "elit/io/checkpoint_path.h"
#include "elit/models/autoencoder_kl_codec.h"
#include "elit/models/budget.h"
#include "elit/runtime/error.h"
#include "elit/sampling/budget_schedule.h"
#include "elit/serve/calibration.h"
#include "elit/serve/http_server.h"
#include "progress.h"
#include "sampling_flags.h"
#include "vae_flags.h"

namespace elit::app {
namespace {
namespace fs = std::filesystem;

// The scheduling flags' defaults are the engine's.
const serve::EngineOptions engine_defaults;

struct ServeOptions {
  ModelOptions model;
  VAEFlags vae;
  std::string dtype = "float32", device = "cpu";
  serve::HttpOptions http;
  std::string policy = "elastic", batching = "continuous";
  double budget = engine_defaults.default_budget, headroom = engine_defaults.headroom;
  bool plan_arrivals = engine_defaults.plan_arrivals;
  int64_t max_batch = engine_defaults.max_batch, max_queue = engine_defaults.max_queue;
  int64_t max_num = 16, max_steps = 100, steps = 20;
  std::string calibration_cache;
  int calibration_repeats = 5;
  std::optional<double> teacache;  // TeaCache threshold for every request
  std::string teacache_span;
};

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/elit/serve";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/elit/serve";
  }
  return "";
}

// What identifies the weights for the calibration cache: path, size and modification time.
std::string model_identity(const std::string& weights) {
  const auto path = io::resolve_model_path(weights);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return fs::absolute(path).string() + "|" + std::to_string(size) + "|" + std::to_string(mtime);
}

void print_table(const serve::CostTable& t, bool cached) {
  std::ostringstream out;
  out << "cost table (ms per forward" << (cached ? ", cached" : ", measured") << "):\n  budget";
  for (auto r : t.batch_rows) out << "  rows " << std::setw(3) << r;
  for (size_t b = 0; b < t.budgets.size(); ++b) {
    out << "\n  " << std::setw(6) << format_value(t.budgets[b]);
    for (double ms : t.ms[b])
      out << "  " << std::setw(8) << std::fixed << std::setprecision(2) << ms;
  }
  if (!t.decode_ms.empty()) {
    out << "\n  decode";
    for (double ms : t.decode_ms)
      out << "  " << std::setw(8) << std::fixed << std::setprecision(2) << ms;
  }
  note(out.str());
}

serve::CostTable calibrate(const ServeOptions& o, LoadedModel& m, sampling::ForwardCosts& costs,
                           const std::vector<double>& budgets) {
  serve::CalibrationOptions c;
  c.model_identity = model_identity(o.model.weights);
  if (m.vae) {
    c.model_identity += " + " + model_identity(o.vae.path);
    const auto codec = m.decode_options();
    c.decode = [&m, codec](int64_t images) {
      const auto z = torch::zeros({images, m.spec.in_channels, m.spec.height, m.spec.width});
      const auto x = models::decode_latents(*m.vae.ptr(), z, codec);
      sampling::synchronize(x.device());
    };
  }
  c.cache_dir = o.calibration_cache;
  c.max_rows = 2 * o.max_batch;  // classifier-free guidance doubles the rows
  c.repeats = o.calibration_repeats;
  Progress bar("calibrate", serve::calibration_progress_total(c), "round");
  bool cached = false;
  auto table = serve::calibrate(costs, *m.model, m.file.config, budgets, c, &cached,
                                [&](int64_t done, int64_t) { bar.update(done); });
  bar.finish();
  print_table(table, cached);
  return table;
}

void run(const ServeOptions& o) {
  start_command();
  // Signals are taken by one thread (sigwait), so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const auto policy = serve::parse_policy(o.policy);
  SamplingFlags flags;
  flags.model = o.model;
  flags.dtype = o.dtype;
  flags.device = o.device;
  auto m = load_model(flags);
  if (o.vae.given()) attach_vae(m, o.vae);
  check(m.data_space == "pixels" || m.vae, "model '", m.spec.name,
        "' generates latents: give its decoder with --vae (elit serve answers with images)");
  check(m.spec.num_classes > 0 || m.spec.text_conditioned, "model '", m.spec.name,
        "' has neither classes nor prompts to serve");
  sampling::check_budget(m.spec, o.budget, "--budget");
  check(o.steps <= o.max_steps, "--steps ", o.steps, " is above --max-steps ", o.max_steps);
  const auto budgets =
      m.spec.elit ? models::valid_budgets(m.spec.tokens_per_group) : std::vector<double>{1.0};
  sampling::ForwardCosts costs(*m.model, m.file.config);
  serve::EngineOptions e;
  e.policy = policy;
  e.default_budget = o.budget;
  e.max_batch = o.max_batch;
  e.continuous = o.batching == "continuous";
  e.max_queue = o.max_queue;
  e.headroom = o.headroom;
  e.plan_arrivals = o.plan_arrivals;
  for (double b : budgets) e.flops_per_row[b] = costs.flops(b);
  if (o.teacache) {
    // The planner keeps planning full-cost steps; skipped spans make steps faster, which its
    // measured-speed feedback (time_scale) follows.
    e.teacache = sampling::TeaCacheOptions::for_model(*o.teacache, o.teacache_span, m.file.metadata,
                                                      m.file.source);
    note("TeaCache: " + e.teacache->describe());
  }
  if (m.vae) {
    e.to_pixels = [&m, codec = m.decode_options()](const torch::Tensor& latents) {
      return models::decode_latents(*m.vae.ptr(), latents, codec);
    };
  }
  serve::Engine engine(*m.model, calibrate(o, m, costs, budgets), e);
  auto limits = serve::limits_for_model(*m.model);
  for (int64_t c = 0; c < m.spec.num_classes; ++c) limits.class_names.push_back(m.class_name(c));
  limits.max_num = o.max_num;
  limits.max_steps = o.max_steps;
  limits.default_steps = o.steps;
  nlohmann::json flops = nlohmann::json::object();
  for (const auto& [b, f] : e.flops_per_row) flops[format_value(b)] = f;
  const auto scale = m.pixel_height() / m.spec.height;  // the decoder's upsampling (1: pixels)
  const std::vector<int64_t> image_shape{m.vae ? 3 : m.spec.in_channels, m.pixel_height(),
                                         m.spec.width * scale};
  const nlohmann::json info{{"model", m.spec.name},
                            {"family", m.spec.family},
                            {"elit", m.spec.elit},
                            {"sample", {m.spec.in_channels, m.spec.height, m.spec.width}},
                            {"image", image_shape},
                            {"decoder", m.vae ? "vae" : "none"},
                            {"tokens_per_group", m.spec.tokens_per_group},
                            {"flops_per_image_forward", flops},
                            {"flops_source", costs.source()}};
  serve::HttpServer server(engine, limits, info, o.http);
  const int port = server.bind();
  // The URL on stdout (scripts and tests read it); everything else on stderr.
  std::cout << "elit serve: " << m.spec.name << " (" << o.policy << " policy) at http://"
            << o.http.host << ":" << port << "/" << std::endl;
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    const timespec tick{0, 200'000'000};
    while (!done) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        note("stopping: finishing the requests in flight");
        server.stop();
        return;
      }
    }
  });
  server.serve();
  done = true;
  stopper.join();
  server.stop();
  note("stopped");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "serve a model over HTTP with a web page: POST /v1/generate, GET /v1/model, /metrics, "
      "/healthz and / (the page). The elastic policy lowers the budget of the requests it "
      "serves so that their deadlines (deadline_ms) hold under load, and refuses (503) what no "
      "budget can finish in time. Measures its cost table at start-up (cached per model and "
      "machine). Ctrl-C / SIGTERM finish the requests in flight, then exit.\n"
      "  elit serve --ckpt runs/fmnist --port 8080\n"
      "  curl -d '{\"class\": \"Sneaker\", \"deadline_ms\": 2000}' localhost:8080/v1/generate");
  o->model.add_to(*cmd);
  o->vae.add_to(*cmd, /*required=*/false);
  cmd->add_option("--dtype", o->dtype, "float32, float64 or bfloat16")->capture_default_str();
  cmd->add_option("--teacache", o->teacache,
                  "TeaCache threshold for every request (see elit sample --help; 0: off)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--teacache-span", o->teacache_span,
                  "core or interface; default: the model file's calibrated span, else core")
      ->check(CLI::IsMember({"core", "interface"}));
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--host", o->http.host, "address to listen on (127.0.0.1: this machine only)")
      ->capture_default_str();
  cmd->add_option("--port", o->http.port, "port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--policy", o->policy,
                  "elastic: the budget per step from deadlines and load; fixed: always --budget")
      ->check(CLI::IsMember({"elastic", "fixed"}))
      ->capture_default_str();
  cmd->add_option("--budget", o->budget,
                  "budget of the fixed policy and of requests without a deadline")
      ->capture_default_str();
  cmd->add_option("--max-batch", o->max_batch, "images per forward (requests batch up to this)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--batching", o->batching,
                  "continuous: a request joins the running ones at the next model evaluation and "
                  "leaves when done; static: a batch runs from its first step to its last")
      ->check(CLI::IsMember({"continuous", "static"}))
      ->capture_default_str();
  cmd->add_option("--headroom", o->headroom,
                  "elastic policy: plan as if every step took (1 + this) x its expected time, a "
                  "margin for the spread of step times (0: plan on the expected time; more "
                  "refuses more and misses fewer deadlines)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--plan-arrivals", o->plan_arrivals,
                  "elastic policy: leave room for the requests expected to arrive within one "
                  "deadline at the recent arrival rate, so that under sustained load the budget "
                  "of the running requests is not raised with the time the next ones need "
                  "(false: plan for the requests that are there only)")
      ->capture_default_str();
  cmd->add_option("--max-queue", o->max_queue, "waiting requests; more get 503")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-num", o->max_num, "most images per request")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--max-steps", o->max_steps, "most sampling steps per request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--steps", o->steps, "steps of a request that does not say")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--api-key", o->http.api_key,
                  "require 'Authorization: Bearer KEY' (or X-API-Key) on /v1/* and /metrics");
  o->calibration_cache = default_cache_dir();
  cmd->add_option("--calibration-cache", o->calibration_cache,
                  "folder of measured cost tables ('' = measure every start)")
      ->capture_default_str();
  cmd->add_option("--calibration-repeats", o->calibration_repeats,
                  "calibration rounds (one forward per budget and batch size each, interleaved); "
                  "up to 4x as many until every cell's spread is within 10%")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
