#include "elit/io/pickle.h"

#include <cstring>
#include <map>
#include <set>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

using Kind = PyValue::Kind;

// torch.save pickles nest a few levels (state_dict -> tensor -> size tuple); anything deeper is
// hostile, and deep values would overflow the stack of every recursive consumer (and of
// shared_ptr's own destructor).
constexpr size_t kMaxNesting = 1000;
// A value reached twice counts twice for consumers that walk the tree: shared references must
// not expand into more values than this ("billion laughs" through the memo).
constexpr uint64_t kMaxExpandedValues = uint64_t(1) << 26;

bool is_container(const PyValue& v) {
  return !v.items.empty() || !v.dict.empty();
}

torch::ScalarType storage_dtype(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> table = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  auto it = table.find(name);
  return it == table.end() ? at::ScalarType::Undefined : it->second;
}

// Class references that are understood as data. Everything else is refused.
bool allowed_global(const std::string& name) {
  static const std::set<std::string> allowed = {"collections.OrderedDict",
                                                "torch._utils._rebuild_tensor_v2",
                                                "torch._utils._rebuild_parameter",
                                                "argparse.Namespace",
                                                "builtins.set",
                                                "builtins.frozenset",
                                                "_codecs.encode"};
  return allowed.count(name) > 0 || storage_dtype(name) != at::ScalarType::Undefined;
}

std::vector<int64_t> int_tuple(const PyRef& v, const std::string& ctx) {
  check(v && (v->kind == Kind::Tuple || v->kind == Kind::List), ctx, ": expected a tuple of ints");
  std::vector<int64_t> out;
  for (const auto& x : v->items) {
    check(x->kind == Kind::Int, ctx, ": expected a tuple of ints, found ", x->describe());
    out.push_back(x->i);
  }
  return out;
}

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
    check_shape(stack_.back());  // fills kept_: what the result reaches is acyclic and shallow
    return stack_.back();
  }

 private:
  PyRef make(Kind kind) {
    auto v = std::make_shared<PyValue>();
    v->kind = kind;
    created_.push_back(v);
    return v;
  }

  // Walks the result without recursion: refuses cycles, nesting deeper than kMaxNesting and
  // shared references that expand past kMaxExpandedValues. Marks what the root reaches as kept.
  void check_shape(const PyRef& root) {
    enum State { kOpen, kDone };
    std::map<const PyValue*, std::pair<State, uint64_t>> seen;  // state, expanded size when done
    struct Frame {
      const PyValue* v;
      size_t next;
    };
    std::vector<Frame> path{{root.get(), 0}};
    seen[root.get()] = {kOpen, 0};
    const std::string where = "pickle in '" + origin_ + "'";
    while (!path.empty()) {
      Frame& f = path.back();
      const PyValue* child = nullptr;
      const size_t n_items = f.v->items.size();
      if (f.next < n_items) {
        child = f.v->items[f.next].get();
      } else if (f.next < n_items + 2 * f.v->dict.size()) {
        const auto& kv = f.v->dict[(f.next - n_items) / 2];
        child = ((f.next - n_items) % 2 == 0 ? kv.first : kv.second).get();
      }
      if (!child) {  // all children done: this value's expanded size is known
        uint64_t total = 1;
        for (const auto& x : f.v->items) total += seen[x.get()].second;
        for (const auto& [k, x] : f.v->dict) total += seen[k.get()].second + seen[x.get()].second;
        check(total <= kMaxExpandedValues, where, ": shared references expand to more than ",
              kMaxExpandedValues, " values (a memo bomb, not a torch.save file)");
        seen[f.v] = {kDone, total};
        path.pop_back();
        continue;
      }
      ++f.next;
      auto it = seen.find(child);
      if (it != seen.end()) {
        check(it->second.first == kDone, where, ": a ", child->describe(),
              " contains itself (cyclic data is not a torch.save state)");
        continue;
      }
      if (!is_container(*child)) {
        seen[child] = {kDone, 1};
        continue;
      }
      check(path.size() < kMaxNesting, where, ": values nested deeper than ", kMaxNesting,
            " levels (not a torch.save state; refused before anything walks it)");
      seen[child] = {kOpen, 0};
      path.push_back({child, 0});
    }
    for (const auto& [v, state] : seen) kept_.insert(v);
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
    const std::string& f = callable->s;
    const auto& a = args->items;
    if (f == "collections.OrderedDict" || f == "argparse.Namespace") {
      auto r = make(f == "argparse.Namespace" ? Kind::Object : Kind::Dict);
      r->s = f;
      return r;
    }
    if (f == "builtins.set" || f == "builtins.frozenset") {
      auto r = make(Kind::Set);
      if (!a.empty()) r->items = a[0]->items;
      return r;
    }
    if (f == "_codecs.encode") {  // protocol 2's spelling of bytes: encode(str, 'latin1')
      check(!a.empty() && a[0]->kind == Kind::Str, ctx(), ": bad _codecs.encode call");
      auto r = make(Kind::Bytes);
      r->s = a[0]->s;  // the text is already latin-1 code points stored as UTF-8 for ASCII data
      return r;
    }
    if (f == "torch._utils._rebuild_parameter") {
      check(!a.empty() && a[0]->kind == Kind::Tensor, ctx(), ": bad _rebuild_parameter call");
      return a[0];
    }
    if (f == "torch._utils._rebuild_tensor_v2") {
      check(a.size() >= 4 && a[0]->kind == Kind::Storage && a[1]->kind == Kind::Int, ctx(),
            ": bad _rebuild_tensor_v2 arguments");
      auto r = make(Kind::Tensor);
      r->tensor = a[0]->tensor;
      r->tensor.offset = a[1]->i;
      r->tensor.sizes = int_tuple(a[2], ctx());
      r->tensor.strides = int_tuple(a[3], ctx());
      check(r->tensor.sizes.size() == r->tensor.strides.size(), ctx(),
            ": tensor sizes and strides differ in length");
      return r;
    }
    fail(ctx(), ": '", f, "' cannot be called");
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

PyRef PyValue::get(const std::string& key) const {
  if (kind != Kind::Dict && kind != Kind::Object) return nullptr;
  for (const auto& [k, v] : dict) {
    if (k->kind == Kind::Str && k->s == key) return v;
  }
  return nullptr;
}

std::string PyValue::describe() const {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Dict:
      return "dict";
    case Kind::Set:
      return "set";
    case Kind::Tensor:
      return "tensor";
    case Kind::Object:
      return "object " + s;
    case Kind::Global:
      return "class " + s;
    case Kind::Storage:
      return "storage";
  }
  return "?";
}

PyRef unpickle(const std::string& data, const PersistentLoader& persistent_load,
               const std::string& origin) {
  return Unpickler(data, persistent_load, origin).run();
}

}  // namespace elit::io
