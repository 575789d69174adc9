// A generation request as the HTTP API takes it (POST /v1/generate), validated strictly: every
// problem is a BadRequest naming the field, the value and what was expected. Nothing in a
// request names a file.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "elit/models/diffusion_model.h"
#include "elit/runtime/error.h"
#include "elit/sampling/sampler.h"

namespace elit::serve {

// Bad client input: the server answers 400 with the message.
class BadRequest : public Error {
 public:
  explicit BadRequest(const std::string& what) : Error(what) {}
};

// What the server accepts (its flags) and the model's facts requests are checked against.
struct RequestLimits {
  models::ModelSpec spec;
  std::vector<std::string> class_names;  // index = label
  int64_t max_num = 16;
  int64_t max_steps = 100;
  int64_t default_steps = 20;
  double max_deadline_ms = 3600e3;
  // Text-conditioned models: throws elit::Error naming what in a prompt the model cannot encode
  // (a word outside its vocabulary, too many words). Unset: the model takes no prompts.
  std::function<void(const std::string&)> check_prompt;
};

struct GenerateRequest {
  int64_t label = 0;
  std::string prompt;  // text-conditioned models: used instead of the label when not empty
  int64_t num = 1;
  uint64_t seed = 0;
  int64_t steps = 20;
  sampling::SamplerKind sampler = sampling::SamplerKind::euler;
  double cfg_scale = 1.0;
  std::optional<double> uncond_budget;
  std::optional<double> budget;  // fixed: overrides the policy
  std::optional<double> deadline_ms;
  std::string id;  // client-chosen, for GET /v1/progress?id=
};

// The limits for serving `model`: its spec, and for a text-conditioned model the prompt check
// (its tokenizer; no forward, so it is safe beside the engine's worker). The caller sets the
// class names and the caps.
RequestLimits limits_for_model(const models::DiffusionModel& model);

// The fields a request may carry, for the API description.
const std::vector<std::string>& request_fields();

// Parses and checks a JSON body. Throws BadRequest.
GenerateRequest parse_generate_request(const std::string& body, const RequestLimits& limits);

}  // namespace elit::serve
