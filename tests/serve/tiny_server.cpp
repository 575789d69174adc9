#include "serve/tiny_server.h"

#include "elit/data/fashion_mnist.h"
#include "elit/io/checkpoint_path.h"
#include "elit/io/image.h"
#include "elit/io/model_file.h"
#include "elit/models/budget.h"
#include "elit/models/mmdit.h"
#include "elit/models/sit.h"
#include "elit/serve/calibration.h"
#include "elit/serve/encoding.h"
#include "models/tiny_backbones.h"
#include "support/reference.h"
#include "support/tiny_sit.h"

namespace elit::testing {

const std::string& tiny_model_path() {
  static const std::string path = [] {
    const auto p = temp_dir("serve_tiny_model") + "/tiny.safetensors";
    torch::manual_seed(0);
    models::SiT model(tiny_sampling_sit_config(32));
    io::write_model_file(p, *model, {{io::kDataSpaceKey, "pixels"}});
    return p;
  }();
  return path;
}

const std::string& tiny_text_model_path() {
  static const std::string path = [] {
    const auto p = temp_dir("serve_tiny_text_model") + "/tiny_text.safetensors";
    torch::manual_seed(0);
    models::MMDiT model(tiny_text_mmdit_config());
    io::write_model_file(p, *model, {{io::kDataSpaceKey, "pixels"}});
    return p;
  }();
  return path;
}

serve::CostTable synthetic_table(double ms_at_full) {
  serve::CostTable t;
  t.budgets = models::valid_budgets(4);
  t.batch_rows = {1, 2, 4, 8, 16};
  for (double b : t.budgets) {
    std::vector<double> row;
    for (auto r : t.batch_rows) row.push_back(ms_at_full * b * static_cast<double>(r));
    t.ms.push_back(row);
  }
  return t;
}

TinyServer::TinyServer(TinyServerOptions o) {
  const auto file = io::read_model_file(o.text_model ? tiny_text_model_path() : tiny_model_path());
  model_ = io::build_model(file);
  const auto spec = model_->spec();
  const auto budgets = models::valid_budgets(spec.tokens_per_group);
  sampling::ForwardCosts costs(*model_, file.config);
  serve::EngineOptions e;
  e.policy = o.policy;
  e.max_batch = o.max_batch;
  e.continuous = o.continuous;
  e.max_queue = o.max_queue;
  e.follow_measured_speed = o.follow_measured_speed;
  e.arrival_window_s = o.arrival_window_s;
  for (double b : budgets) e.flops_per_row[b] = costs.flops(b);
  serve::CalibrationOptions c;
  c.max_rows = 2 * o.max_batch;
  c.repeats = 1;
  auto table = o.table ? *o.table : serve::calibrate(costs, *model_, file.config, budgets, c);
  engine_ = std::make_unique<serve::Engine>(*model_, table, e);
  auto limits = serve::limits_for_model(*model_);
  limits.class_names =
      o.text_model ? tiny_text_mmdit_config().captions : data::fashion_mnist_classes();
  limits.max_steps = 50;
  limits.default_steps = 4;
  serve::HttpOptions h;
  h.port = 0;
  h.api_key = o.api_key;
  http_ = std::make_unique<serve::HttpServer>(
      *engine_, limits,
      nlohmann::json{{"model", spec.name}, {"image", {spec.in_channels, spec.height, spec.width}}},
      h);
  port_ = http_->bind();
  thread_ = std::thread([this] { http_->serve(); });
}

TinyServer::~TinyServer() {
  stop();
}

void TinyServer::stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

httplib::Client TinyServer::client() const {
  httplib::Client c("127.0.0.1", port_);
  // Generous: a busy machine can take seconds to answer a burst of connections.
  c.set_read_timeout(120, 0);
  c.set_write_timeout(60, 0);
  c.set_connection_timeout(60, 0);
  return c;
}

std::string generate_body(int64_t label, uint64_t seed, int64_t steps,
                          const nlohmann::json& extra) {
  nlohmann::json j{{"class", label}, {"seed", seed}, {"steps", steps}};
  for (const auto& item : extra.items()) j[item.key()] = item.value();
  return j.dump();
}

std::string base64_decode(const std::string& text) {
  return serve::base64_decode(text);
}

torch::Tensor decode_png(const std::string& bytes) {
  return io::decode_image(bytes, "answer");
}

}  // namespace elit::testing
