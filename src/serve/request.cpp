#include "elit/serve/request.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "elit/sampling/budget_schedule.h"

namespace elit::serve {
namespace {
using nlohmann::json;

template <typename... Parts>
[[noreturn]] void bad(const Parts&... parts) {
  throw BadRequest(detail::concat(parts...));
}

int64_t integer_field(const json& j, const char* key, int64_t lo, int64_t hi) {
  const auto& v = j.at(key);
  if (!v.is_number_integer()) bad("'", key, "' must be an integer, got ", v.dump());
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    bad("'", key, "' = ", v.dump(), " is out of range: expected ", lo, "..", hi);
  }
  const auto n = v.get<int64_t>();
  if (n < lo || n > hi) bad("'", key, "' = ", n, " is out of range: expected ", lo, "..", hi);
  return n;
}

double number_field(const json& j, const char* key, double lo, double hi) {
  const auto& v = j.at(key);
  if (!v.is_number()) bad("'", key, "' must be a number, got ", v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    bad("'", key, "' = ", v.dump(), " is out of range: expected ", lo, "..", hi);
  }
  return x;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int64_t class_field(const json& v, const RequestLimits& limits) {
  const int64_t n = limits.spec.num_classes;
  if (v.is_number_integer()) {
    const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() < static_cast<uint64_t>(n)
                                                 : v.get<int64_t>() >= 0 && v.get<int64_t>() < n;
    if (in_range) return v.get<int64_t>();
    bad("unknown class ", v.dump(), ": the model has ", n, " classes (0..", n - 1, ")");
  }
  if (!v.is_string()) bad("'class' must be a class index or name, got ", v.dump());
  const auto name = lower(v.get<std::string>());
  for (size_t i = 0; i < limits.class_names.size(); ++i) {
    if (lower(limits.class_names[i]) == name) return static_cast<int64_t>(i);
  }
  bad("unknown class '", v.get<std::string>(), "' (GET /v1/model lists the classes)");
}

double budget_field(const json& j, const char* key, const RequestLimits& limits) {
  const double b = number_field(j, key, 0.0, 1e9);
  try {
    sampling::check_budget(limits.spec, b, key);
  } catch (const Error& e) {
    bad(e.what());
  }
  return b;
}

std::string id_field(const json& v) {
  if (!v.is_string()) bad("'id' must be a string, got ", v.dump());
  const auto id = v.get<std::string>();
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!ok) bad("'id' must be 1..64 letters, digits, '-' or '_'");
  return id;
}

void check_known_fields(const json& j) {
  const auto& known = request_fields();
  for (const auto& item : j.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      bad("unknown field '", item.key(), "' (expected ", list, ")");
    }
  }
}

}  // namespace

RequestLimits limits_for_model(const models::DiffusionModel& model) {
  RequestLimits limits;
  limits.spec = model.spec();
  if (limits.spec.text_conditioned) {
    limits.check_prompt = [&model](const std::string& prompt) {
      model.condition_for_prompts({prompt});
    };
  }
  return limits;
}

const std::vector<std::string>& request_fields() {
  static const std::vector<std::string> fields{
      "class",     "prompt",        "num",    "seed",        "steps", "sampler",
      "cfg_scale", "uncond_budget", "budget", "deadline_ms", "id"};
  return fields;
}

GenerateRequest parse_generate_request(const std::string& body, const RequestLimits& limits) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {  // syntax, and numbers beyond double's range
    bad("malformed JSON: ", e.what());
  }
  if (!j.is_object()) bad("the body must be a JSON object, got ", j.type_name());
  check_known_fields(j);
  GenerateRequest r;
  r.steps = limits.default_steps;
  if (j.contains("prompt") && !limits.check_prompt) {
    bad("'prompt' is not supported by this server's model '", limits.spec.name,
        "' (class-conditional: use 'class')");
  }
  if (j.contains("prompt") == j.contains("class")) {
    bad(limits.check_prompt ? "give either 'class' (an index or name) or 'prompt' (text)"
                            : "missing 'class' (a class index or name)");
  }
  if (j.contains("prompt")) {
    const auto& v = j["prompt"];
    if (!v.is_string()) bad("'prompt' must be a string, got ", v.dump());
    r.prompt = v.get<std::string>();
    if (r.prompt.size() > 1024) bad("'prompt' is longer than 1024 bytes");
    try {
      limits.check_prompt(r.prompt);
    } catch (const Error& e) {
      bad(e.what());
    }
  } else {
    r.label = class_field(j["class"], limits);
  }
  if (j.contains("num")) r.num = integer_field(j, "num", 1, limits.max_num);
  if (j.contains("seed")) {
    const auto& v = j["seed"];
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) {
      bad("'seed' must be a non-negative integer, got ", v.dump());
    }
    r.seed = v.get<uint64_t>();
  }
  if (j.contains("steps")) r.steps = integer_field(j, "steps", 1, limits.max_steps);
  if (j.contains("sampler")) {
    const auto& v = j["sampler"];
    if (!v.is_string()) bad("'sampler' must be a string, got ", v.dump());
    const auto s = v.get<std::string>();
    if (s != "euler" && s != "heun" && s != "sde") {
      bad("unknown sampler '", s, "' (expected euler, heun or sde)");
    }
    r.sampler = sampling::parse_sampler(s);
  }
  if (j.contains("cfg_scale")) r.cfg_scale = number_field(j, "cfg_scale", 0.0, 20.0);
  if (j.contains("uncond_budget")) r.uncond_budget = budget_field(j, "uncond_budget", limits);
  if (j.contains("budget")) r.budget = budget_field(j, "budget", limits);
  if (j.contains("deadline_ms")) {
    r.deadline_ms = number_field(j, "deadline_ms", 1.0, limits.max_deadline_ms);
  }
  if (j.contains("id")) r.id = id_field(j["id"]);
  return r;
}

}  // namespace elit::serve
