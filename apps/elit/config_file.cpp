#include "config_file.h"

#include <regex>
#include <sstream>
#include <vector>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/runtime/strict_json.h"

#ifdef ELIT_HAVE_YAML
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#endif

namespace elit::app {
namespace {

#ifdef ELIT_HAVE_YAML
// More values than any config has: a bound on what a file can make us build.
constexpr size_t kMaxYamlValues = 1'000'000;

// JSON strings must be UTF-8 (printing one that is not throws); YAML scalars may be any bytes.
bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

// Builds JSON straight from yaml-cpp's parse events, so that no YAML node graph is ever built:
// aliases (self-referencing anchors, "billion laughs") and merge keys are refused by name,
// duplicate keys are errors, and every error names the file, line and key.
class JsonFromYaml : public YAML::EventHandler {
 public:
  explicit JsonFromYaml(std::string origin) : origin_(std::move(origin)) {}
  nlohmann::json take() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { scalar(m, "?", ""); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    fail(where(m), ": YAML aliases (*name) are not supported in elit configs; write the value out");
  }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t,
                const std::string& value) override {
    scalar(m, tag, value);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(m, nlohmann::json::array());
  }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(m, nlohmann::json::object());
  }
  void OnSequenceEnd() override { close(); }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    nlohmann::json value;
    bool expecting_key = true;  // maps alternate key, value
    std::string key;
  };

  std::string where(const YAML::Mark& m) const {
    std::string path;
    for (const auto& f : stack_) {
      if (f.value.is_object() && !f.expecting_key) path += (path.empty() ? "" : ".") + f.key;
    }
    return "YAML '" + origin_ + "' line " + std::to_string(m.line + 1) +
           (path.empty() ? "" : " key '" + path + "'");
  }
  bool at_key() const {
    return !stack_.empty() && stack_.back().value.is_object() && stack_.back().expecting_key;
  }

  void scalar(const YAML::Mark& m, const std::string& tag, const std::string& text) {
    check(valid_utf8(text), where(m), ": text that is not valid UTF-8");
    if (!at_key()) return add(m, scalar_to_json(m, tag, text));
    Frame& f = stack_.back();
    check(!(text == "<<" && tag == "?"), where(m), ": YAML merge keys (<<) are not supported");
    check(!f.value.contains(text), where(m), ": key '", text, "' appears twice in one mapping");
    f.key = text;
    f.expecting_key = false;
  }
  void open(const YAML::Mark& m, nlohmann::json container) {
    check(!at_key(), where(m), ": only plain scalar keys are supported");
    count(m);
    stack_.push_back(Frame{std::move(container), true, ""});
  }
  void close() {
    nlohmann::json done = std::move(stack_.back().value);
    stack_.pop_back();
    place(std::move(done));
  }
  void add(const YAML::Mark& m, nlohmann::json value) {
    count(m);
    place(std::move(value));
  }
  void place(nlohmann::json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
    } else if (stack_.back().value.is_array()) {
      stack_.back().value.push_back(std::move(value));
    } else {
      Frame& f = stack_.back();
      f.value[f.key] = std::move(value);
      f.expecting_key = true;
    }
  }
  void count(const YAML::Mark& m) {
    check(++values_ <= kMaxYamlValues, where(m), ": more than ", kMaxYamlValues,
          " values (not a config file)");
  }

  // Plain scalars become integers, floats, booleans or null where YAML would read them so.
  nlohmann::json scalar_to_json(const YAML::Mark& m, const std::string& tag,
                                const std::string& s) const {
    if (tag == "!") return s;  // quoted: always a string
    static const std::regex int_re(R"(^[-+]?[0-9]+$)");
    static const std::regex float_re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
    try {
      if (std::regex_match(s, int_re)) return std::stoll(s);
      if (std::regex_match(s, float_re)) return std::stod(s);
    } catch (const std::out_of_range&) {
      fail(where(m), ": the number ", s, " is out of range (64-bit integer or double)");
    }
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s == "null" || s == "~" || s == "Null" || s == "NULL" || s.empty()) return nullptr;
    return s;
  }

  std::string origin_;
  std::vector<Frame> stack_;
  nlohmann::json root_;
  size_t values_ = 0;
};
#endif

}  // namespace

nlohmann::json yaml_to_json(const std::string& text, const std::string& origin) {
#ifdef ELIT_HAVE_YAML
  std::istringstream in(text);
  JsonFromYaml builder(origin);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);  // the first document, as YAML::Load reads
  } catch (const YAML::Exception& e) {
    fail("cannot parse YAML '", origin, "': ", e.what());
  }
  return builder.take();
#else
  fail("cannot read '", origin, "': this build of elit has no YAML support (use JSON)");
#endif
}

nlohmann::json read_config_file(const std::string& path) {
  const std::string text = read_file(path);
  const bool is_json = path.size() >= 5 && path.substr(path.size() - 5) == ".json";
  if (!is_json) return yaml_to_json(text, path);
  return parse_json_strictly(text, "JSON config '" + path + "'");
}

}  // namespace elit::app
