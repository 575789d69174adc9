// One declarative description per configuration struct: every key's name, the member it fills,
// a one-line doc and what values are valid. Reading (unknown keys and wrong types are errors that
// name the key and the value), writing back to JSON, and the key list that `--help` and the
// command-line overrides use all come from it. A key's default is its member's value in a
// default-constructed struct, so defaults are written once, in the struct.
//
//   static const auto schema = ConfigSchema<UViTConfig>("U-ViT config")
//       .key("depth", &UViTConfig::depth, "blocks: depth/2 in, one mid, depth/2 out", at_least(0))
//       .accepted("use_checkpoint", "gradient checkpointing: saves memory only");
//   schema.read(json, config);
#pragma once
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "elit/runtime/config_key.h"
#include "elit/runtime/error.h"

namespace elit {

// JSON value <-> member of each supported type. `where` names the key in errors:
// "<where> must be an integer, got 2.5".
namespace config_value {
void read(const nlohmann::json& v, int64_t& out, const std::string& where);  // integral numbers
void read(const nlohmann::json& v, double& out, const std::string& where);
void read(const nlohmann::json& v, bool& out, const std::string& where);
void read(const nlohmann::json& v, std::string& out, const std::string& where);
void read(const nlohmann::json& v, std::vector<int64_t>& out, const std::string& where);
void read(const nlohmann::json& v, std::vector<double>& out, const std::string& where);
void read(const nlohmann::json& v, std::vector<std::string>& out, const std::string& where);
void read(const nlohmann::json& v, nlohmann::json& out, const std::string& where);  // an object
template <typename T>
void read(const nlohmann::json& v, std::optional<T>& out, const std::string& where) {
  if (v.is_null()) return out.reset();
  T value{};
  read(v, value, where + " (or null)");
  out = std::move(value);
}

template <typename T>
nlohmann::json write(const T& value) {
  return nlohmann::json(value);
}
template <typename T>
nlohmann::json write(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

// "int", "float", "bool", "string", "list", "object"; "?" appended when null is allowed.
template <typename T>
struct Type;
template <>
struct Type<int64_t> {
  static std::string name() { return "int"; }
};
template <>
struct Type<double> {
  static std::string name() { return "float"; }
};
template <>
struct Type<bool> {
  static std::string name() { return "bool"; }
};
template <>
struct Type<std::string> {
  static std::string name() { return "string"; }
};
template <typename E>
struct Type<std::vector<E>> {
  static std::string name() { return "list"; }
};
template <>
struct Type<nlohmann::json> {
  static std::string name() { return "object"; }
};
template <typename T>
struct Type<std::optional<T>> {
  static std::string name() { return Type<T>::name() + "?"; }
};
}  // namespace config_value

// A rule on one value: `ok` and the words that finish "must be ..." ("> 0", "in [0, 1]").
template <typename T>
struct ValueRule {
  std::function<bool(const T&)> ok;
  std::string must_be;
};
template <typename T>
ValueRule<T> at_least(T low) {
  return {[low](const T& v) { return v >= low; }, ">= " + nlohmann::json(low).dump()};
}
template <typename T>
ValueRule<T> positive() {
  return {[](const T& v) { return v > T{}; }, "> 0"};
}
template <typename T>
ValueRule<T> in_range(T low, T high) {
  return {[low, high](const T& v) { return v >= low && v <= high; },
          "in [" + nlohmann::json(low).dump() + ", " + nlohmann::json(high).dump() + "]"};
}
template <typename T>
ValueRule<T> one_of(std::vector<T> values) {
  std::string list;
  for (const auto& v : values) list += (list.empty() ? "" : " | ") + nlohmann::json(v).dump();
  return {
      [values](const T& v) { return std::find(values.begin(), values.end(), v) != values.end(); },
      "one of " + list};
}

template <typename Config>
class ConfigSchema {
 public:
  using Reader = std::function<void(const nlohmann::json& value, Config& config)>;
  // Adds the key's value to `out`; a key may leave itself out (e.g. options of a mode not used).
  using Writer = std::function<void(const Config& config, nlohmann::json& out)>;
  struct Key {
    std::string name, type, doc;
    Reader read;
    Writer write;           // empty: accepted but never written back
    bool published = true;  // in the published code's configs (false: elit's own)
    std::string must_be;    // the value rule in words ("> 0"), for help texts; empty: none
  };

  // `what` starts every message: "U-ViT config: key 'depth' must be an integer, got 2.5".
  explicit ConfigSchema(std::string what) : what_(std::move(what)) {}

  // A key stored in `member` as it is, optionally checked by `rule` (an absent key keeps the
  // member's value).
  template <typename T>
  ConfigSchema& key(const std::string& name, T Config::*member, std::string doc,
                    ValueRule<T> rule = {}) {
    return member_key(name, member, std::move(doc), std::move(rule.ok), std::move(rule.must_be));
  }
  // An optional member: null resets it; `rule` checks a value that is not null.
  template <typename T>
  ConfigSchema& key(const std::string& name, std::optional<T> Config::*member, std::string doc,
                    ValueRule<T> rule = {}) {
    std::function<bool(const std::optional<T>&)> ok;
    if (rule.ok)
      ok = [ok_value = rule.ok](const std::optional<T>& v) { return !v || ok_value(*v); };
    return member_key(name, member, std::move(doc), std::move(ok), std::move(rule.must_be));
  }
  // A std::string member whose "not given" is the empty string, written as null.
  ConfigSchema& nullable_text(const std::string& name, std::string Config::*member,
                              std::string doc) {
    const std::string where = key_words(name);
    return custom(
        name, "string?", std::move(doc),
        [member, where](const nlohmann::json& v, Config& c) {
          if (v.is_null()) return (c.*member).clear();
          config_value::read(v, c.*member, where);
        },
        [member, name](const Config& c, nlohmann::json& out) {
          out[name] = (c.*member).empty() ? nlohmann::json() : nlohmann::json(c.*member);
        });
  }
  // "family": `name` when given (a config of another backbone is refused); always written.
  ConfigSchema& family(const std::string& name) {
    const std::string what = what_;
    return custom(
        "family", "string", "\"" + name + "\"",
        [name, what](const nlohmann::json& v, Config&) {
          check(v == name, what, ": family must be \"", name, "\", got ", v.dump());
        },
        [name](const Config&, nlohmann::json& out) { out["family"] = name; });
  }
  // "model": the name of a named model (whose sizes apply_named_model put in first) or any
  // label; null keeps the default.
  ConfigSchema& model_name(std::string Config::*member, std::string doc) {
    const std::string where = key_words("model");
    return custom(
        "model", "string?", std::move(doc),
        [member, where](const nlohmann::json& v, Config& c) {
          if (!v.is_null()) config_value::read(v, c.*member, where);
        },
        [member](const Config& c, nlohmann::json& out) { out["model"] = c.*member; });
  }
  // A key with its own reading and writing (pairs, published sub-sections, aliases).
  ConfigSchema& custom(const std::string& name, std::string type, std::string doc, Reader read,
                       Writer write = {}) {
    keys_.push_back(
        {name, std::move(type), std::move(doc), std::move(read), std::move(write), true, {}});
    return *this;
  }
  // A published key that is accepted so that published files load, and changes nothing here;
  // `doc` says why. `check_value` may refuse values this implementation cannot honour.
  ConfigSchema& accepted(const std::string& name, std::string doc,
                         std::function<void(const nlohmann::json&)> check_value = {}) {
    return custom(name, "any", std::move(doc), [check_value](const nlohmann::json& v, Config&) {
      if (check_value) check_value(v);
    });
  }
  // The key added last is written back only when `when(config)` holds (options of a mode in use).
  ConfigSchema& written_if(std::function<bool(const Config&)> when) {
    auto& k = keys_.back();
    k.write = [when, write = k.write](const Config& c, nlohmann::json& out) {
      if (when(c)) write(c, out);
    };
    return *this;
  }
  // Marks the key added last as elit's own (not a published key).
  ConfigSchema& own() {
    keys_.back().published = false;
    return *this;
  }
  // What an unknown key's message ends with; default: the list of known keys.
  ConfigSchema& unknown_key_hint(std::string hint) {
    hint_ = std::move(hint);
    return *this;
  }

  // Reads every key present in `j` into `c`, in declaration order. Throws elit::Error when `j`
  // is not an object, names every unknown key, or names a key whose value is invalid.
  void read(const nlohmann::json& j, Config& c) const {
    check(j.is_object(), what_, " must be a mapping of keys to values, got ", j.dump());
    std::string unknown;
    int count = 0;
    for (const auto& item : j.items()) {
      if (find(item.key())) continue;
      unknown += (count++ ? ", '" : "'") + item.key() + "'";
    }
    if (count > 0) {
      std::string known;
      for (const auto& k : keys_) known += " " + k.name;
      fail(what_, ": unknown key", count > 1 ? "s " : " ", unknown, "; ",
           hint_.empty() ? "known keys:" + known : hint_);
    }
    for (const auto& k : keys_) {
      if (j.contains(k.name)) k.read(j[k.name], c);
    }
  }
  nlohmann::json to_json(const Config& c) const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& k : keys_) {
      if (k.write) k.write(c, out);
    }
    return out;
  }
  const Key* find(const std::string& name) const {
    for (const auto& k : keys_) {
      if (k.name == name) return &k;
    }
    return nullptr;
  }
  const std::vector<Key>& keys() const { return keys_; }
  // Every key for help texts, with its value in `defaults` (absent when not written back).
  std::vector<ConfigKey> describe(const Config& defaults) const {
    const auto values = to_json(defaults);
    std::vector<ConfigKey> out;
    for (const auto& k : keys_) {
      const auto help = k.must_be.empty() ? k.doc : k.doc + " (" + k.must_be + ")";
      out.push_back({k.name, values.value(k.name, nlohmann::json()), k.type, help, k.published});
    }
    return out;
  }
  const std::string& what() const { return what_; }

 private:
  std::string key_words(const std::string& name) const { return what_ + ": key '" + name + "'"; }
  template <typename T>
  ConfigSchema& member_key(const std::string& name, T Config::*member, std::string doc,
                           std::function<bool(const T&)> ok, std::string must_be) {
    const std::string where = key_words(name);
    custom(
        name, config_value::Type<T>::name(), std::move(doc),
        [member, where, ok, must_be](const nlohmann::json& v, Config& c) {
          T value = c.*member;
          config_value::read(v, value, where);
          check(!ok || ok(value), where, " must be ", must_be, ", got ", v.dump());
          c.*member = std::move(value);
        },
        [member, name](const Config& c, nlohmann::json& out) {
          out[name] = config_value::write(c.*member);
        });
    if (ok) keys_.back().must_be = must_be;
    return *this;
  }
  std::string what_, hint_;
  std::vector<Key> keys_;
};

// A config's "model" names a preset: its sizes come first, so that the explicit keys override
// them. Returns `base` when "model" is absent, not text, or not one of the presets.
template <typename Config>
Config apply_named_model(const nlohmann::json& j, Config base,
                         const std::function<bool(const std::string&)>& is_named,
                         const std::function<Config(const std::string&)>& named) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_string()) return base;
  const auto name = j["model"].get<std::string>();
  return is_named(name) ? named(name) : base;
}

}  // namespace elit
