#include "elit/io/pickle.h"

#include <cstring>
#include <map>
#include <set>

#include "elit/runtime/error.h"
#include "pickle_globals.h"
#include "pickle_shape.h"

namespace elit::io {
namespace {

using Kind = PyValue::Kind;
using pickle_detail::allowed_global;
using pickle_detail::call_global;
using pickle_detail::check_shape;

class Unpickler {
 public:
  Unpickler(const std::string& data, const PersistentLoader& loader, std::string origin)
      : data_(data), loader_(loader), origin_(std::move(origin)) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // On failure the values built so far may be cyclic or very deep: unlink them one by one so
  // that releasing them neither leaks nor recurses.
  ~Unpickler() {
    for (auto& v : created_) {
      if (kept_.count(v.get())) continue;
      v->items.clear();
      v->dict.clear();
    }
  }

  PyRef run() {
    while (true) {
      const uint8_t op = byte();
      if (op == '.') break;
      step(op);
    }
    check(stack_.size() == 1, ctx(), ": pickle ended with ", stack_.size(), " values on the stack");
    // What the result reaches is acyclic and shallow, and kept when the unpickler is released.
    kept_ = check_shape(stack_.back(), "pickle in '" + origin_ + "'");
    return stack_.back();
  }

 private:
  PyRef make(Kind kind) {
    auto v = std::make_shared<PyValue>();
    v->kind = kind;
    created_.push_back(v);
    return v;
  }

  std::string ctx() const { return "pickle in '" + origin_ + "' at byte " + std::to_string(pos_); }

  const char* take(uint64_t n) {
    check(n <= data_.size() - pos_, ctx(), ": truncated (", n, " more bytes needed)");
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t byte() { return static_cast<uint8_t>(*take(1)); }
  uint64_t uint_le(int n) {
    const char* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    check(end != std::string::npos, ctx(), ": unterminated text line");
    std::string s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  PyRef pop() {
    check(!stack_.empty(), ctx(), ": stack underflow (corrupt pickle)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    check(!stack_.empty(), ctx(), ": stack underflow (corrupt pickle)");
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    check(!marks_.empty(), ctx(), ": MARK expected (corrupt pickle)");
    const size_t m = marks_.back();
    marks_.pop_back();
    check(m <= stack_.size(), ctx(), ": corrupt MARK");
    std::vector<PyRef> items(stack_.begin() + static_cast<int64_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  void push_int(int64_t v) {
    auto r = make(Kind::Int);
    r->i = v;
    stack_.push_back(r);
  }
  void push_str(Kind kind, uint64_t n) {
    auto r = make(kind);
    r->s.assign(take(n), n);
    stack_.push_back(r);
  }
  void push_long(uint64_t n) {
    check(n <= 8, ctx(), ": integers wider than 64 bits are not supported");
    const char* p = take(n);
    uint64_t v = 0;
    for (int i = static_cast<int>(n) - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(p[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);
    push_int(static_cast<int64_t>(v));
  }
  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    check(allowed_global(full), "'", origin_, "' refers to the Python class or function '", full,
          "', which elit does not load (only plain data, tensors, OrderedDict and "
          "argparse.Namespace are understood; nothing from the file is executed)");
    auto g = make(Kind::Global);
    g->s = full;
    stack_.push_back(g);
  }
  void set_items(PyRef& target, const std::vector<PyRef>& kv) {
    check(target->kind == Kind::Dict || target->kind == Kind::Object, ctx(), ": SETITEM on ",
          target->describe());
    check(kv.size() % 2 == 0, ctx(), ": odd number of items for SETITEMS");
    for (size_t i = 0; i < kv.size(); i += 2) target->dict.emplace_back(kv[i], kv[i + 1]);
  }

  PyRef call(const PyRef& callable, const PyRef& args) {
    check(callable->kind == Kind::Global, ctx(), ": cannot call ", callable->describe());
    check(args->kind == Kind::Tuple, ctx(), ": call arguments must be a tuple");
    return call_global(
        callable->s, args->items, [this](Kind kind) { return make(kind); }, ctx());
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        uint_le(8);
        break;  // FRAME
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        stack_.push_back(top());
        break;
      case 'N':
        stack_.push_back(make(Kind::None));
        break;
      case 0x88:
      case 0x89: {
        auto r = make(Kind::Bool);
        r->b = op == 0x88;
        stack_.push_back(r);
        break;
      }
      case 'J':
        push_int(static_cast<int32_t>(uint_le(4)));
        break;
      case 'K':
        push_int(static_cast<int64_t>(uint_le(1)));
        break;
      case 'M':
        push_int(static_cast<int64_t>(uint_le(2)));
        break;
      case 0x8a:
        push_long(uint_le(1));
        break;
      case 0x8b:
        push_long(uint_le(4));
        break;
      case 'G': {
        const char* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(p[i]);  // big-endian
        auto r = make(Kind::Float);
        std::memcpy(&r->f, &bits, 8);
        stack_.push_back(r);
        break;
      }
      case 'X':
        push_str(Kind::Str, uint_le(4));
        break;
      case 0x8c:
        push_str(Kind::Str, uint_le(1));
        break;
      case 0x8d:
        push_str(Kind::Str, uint_le(8));
        break;
      case 'T':
        push_str(Kind::Str, uint_le(4));
        break;
      case 'U':
        push_str(Kind::Str, uint_le(1));
        break;
      case 'B':
        push_str(Kind::Bytes, uint_le(4));
        break;
      case 'C':
        push_str(Kind::Bytes, uint_le(1));
        break;
      case 0x8e:
        push_str(Kind::Bytes, uint_le(8));
        break;
      case ']':
        stack_.push_back(make(Kind::List));
        break;
      case ')':
        stack_.push_back(make(Kind::Tuple));
        break;
      case '}':
        stack_.push_back(make(Kind::Dict));
        break;
      case 0x8f:
        stack_.push_back(make(Kind::Set));
        break;
      case 'l':
      case 't':
      case 0x91: {
        auto r = make(op == 'l' ? Kind::List : (op == 't' ? Kind::Tuple : Kind::Set));
        r->items = pop_mark();
        stack_.push_back(r);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        const int n = op - 0x84;
        auto r = make(Kind::Tuple);
        r->items.resize(n);
        for (int i = n - 1; i >= 0; --i) r->items[i] = pop();
        stack_.push_back(r);
        break;
      }
      case 'd': {
        auto r = make(Kind::Dict);
        auto kv = pop_mark();
        set_items(r, kv);
        stack_.push_back(r);
        break;
      }
      case 'a': {
        auto v = pop();
        check(top()->kind == Kind::List, ctx(), ": APPEND to ", top()->describe());
        top()->items.push_back(v);
        break;
      }
      case 'e': {
        auto items = pop_mark();
        check(top()->kind == Kind::List, ctx(), ": APPENDS to ", top()->describe());
        top()->items.insert(top()->items.end(), items.begin(), items.end());
        break;
      }
      case 0x90: {
        auto items = pop_mark();
        check(top()->kind == Kind::Set, ctx(), ": ADDITEMS to ", top()->describe());
        top()->items.insert(top()->items.end(), items.begin(), items.end());
        break;
      }
      case 's': {
        auto v = pop();
        auto k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'h':
        stack_.push_back(memo_get(uint_le(1)));
        break;
      case 'j':
        stack_.push_back(memo_get(uint_le(4)));
        break;
      case 'q':
        memo_[uint_le(1)] = top();
        break;
      case 'r':
        memo_[uint_le(4)] = top();
        break;
      case 0x94:
        memo_[memo_.size()] = top();
        break;
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        push_global(module, name);
        break;
      }
      case 0x93: {
        auto name = pop();
        auto module = pop();
        check(name->kind == Kind::Str && module->kind == Kind::Str, ctx(), ": bad STACK_GLOBAL");
        push_global(module->s, name->s);
        break;
      }
      case 'R': {
        auto args = pop();
        auto callable = pop();
        stack_.push_back(call(callable, args));
        break;
      }
      case 0x81: {
        auto args = pop();
        auto cls = pop();
        stack_.push_back(call(cls, args));
        break;
      }
      case 'b': {
        auto state = pop();
        auto& obj = top();
        if (obj->kind == Kind::Object && state->kind == Kind::Dict) {
          obj->dict.insert(obj->dict.end(), state->dict.begin(), state->dict.end());
        } else if (obj->kind == Kind::Dict && state->kind == Kind::Dict) {
          // An OrderedDict's instance attributes (a state_dict's `_metadata` version table):
          // not weights, so nothing to keep.
        } else {
          // Tensors and OrderedDicts can carry empty state; anything else is not data we know.
          check(state->kind == Kind::None || (state->kind == Kind::Dict && state->dict.empty()) ||
                    (state->kind == Kind::Tuple && state->items.empty()),
                ctx(), ": cannot set state ", state->describe(), " on ", obj->describe());
        }
        break;
      }
      case 'Q': {
        auto pid = pop();
        check(static_cast<bool>(loader_), ctx(), ": persistent id without a loader");
        stack_.push_back(loader_(pid));
        break;
      }
      default:
        fail(ctx(), ": unsupported pickle opcode 0x", std::hex, static_cast<int>(op),
             " (not a torch.save data file, or corrupt)");
    }
  }

  PyRef memo_get(uint64_t key) {
    auto it = memo_.find(key);
    check(it != memo_.end(), ctx(), ": memo key ", key, " not defined (corrupt pickle)");
    return it->second;
  }

  const std::string& data_;
  const PersistentLoader& loader_;
  std::string origin_;
  size_t pos_ = 0;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, PyRef> memo_;
  std::vector<PyRef> created_;     // every value built, to unlink what the result does not keep
  std::set<const PyValue*> kept_;  // values reachable from an accepted result
};

}  // namespace

PyRef unpickle(const std::string& data, const PersistentLoader& persistent_load,
               const std::string& origin) {
  return Unpickler(data, persistent_load, origin).run();
}

}  // namespace elit::io
