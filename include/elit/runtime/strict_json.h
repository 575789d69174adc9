// JSON from files, parsed strictly: a key repeated within one object is an error (nlohmann keeps
// the last one silently, so a file could say two things at once), and so is nesting deeper than
// any config or header needs.
#pragma once
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "elit/runtime/error.h"

namespace elit {

constexpr int kMaxJsonNesting = 256;

// Parses [begin, end); `ctx` names the file (and field) in errors.
template <typename It>
nlohmann::json parse_json_strictly(It begin, It end, const std::string& ctx) {
  using json = nlohmann::json;
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::vector<bool> is_object;              // per open container
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        is_object.push_back(true);
        break;
      case json::parse_event_t::array_start:
        is_object.push_back(false);
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        is_object.pop_back();
        break;
      case json::parse_event_t::array_end:
        is_object.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    check(is_object.size() <= kMaxJsonNesting, ctx, ": JSON nested deeper than ", kMaxJsonNesting,
          " levels");
    return true;
  };
  json out;
  try {
    out = json::parse(begin, end, callback);
  } catch (const json::exception& e) {
    fail(ctx, ": not valid JSON (", e.what(), ")");
  }
  check(duplicate.empty(), ctx, ": key '", duplicate, "' appears twice in one object");
  return out;
}

inline nlohmann::json parse_json_strictly(const std::string& text, const std::string& ctx) {
  return parse_json_strictly(text.begin(), text.end(), ctx);
}

}  // namespace elit
