#include "pickle_globals.h"

#include <map>
#include <set>

#include "elit/runtime/error.h"

namespace elit::io::pickle_detail {
namespace {

using Kind = PyValue::Kind;

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

std::vector<int64_t> int_tuple(const PyRef& v, const std::string& ctx) {
  check(v && (v->kind == Kind::Tuple || v->kind == Kind::List), ctx, ": expected a tuple of ints");
  std::vector<int64_t> out;
  for (const auto& x : v->items) {
    check(x->kind == Kind::Int, ctx, ": expected a tuple of ints, found ", x->describe());
    out.push_back(x->i);
  }
  return out;
}

}  // namespace

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

PyRef call_global(const std::string& f, const std::vector<PyRef>& a, const MakeValue& make,
                  const std::string& ctx) {
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
    check(!a.empty() && a[0]->kind == Kind::Str, ctx, ": bad _codecs.encode call");
    auto r = make(Kind::Bytes);
    r->s = a[0]->s;  // the text is already latin-1 code points stored as UTF-8 for ASCII data
    return r;
  }
  if (f == "torch._utils._rebuild_parameter") {
    check(!a.empty() && a[0]->kind == Kind::Tensor, ctx, ": bad _rebuild_parameter call");
    return a[0];
  }
  if (f == "torch._utils._rebuild_tensor_v2") {
    check(a.size() >= 4 && a[0]->kind == Kind::Storage && a[1]->kind == Kind::Int, ctx,
          ": bad _rebuild_tensor_v2 arguments");
    auto r = make(Kind::Tensor);
    r->tensor = a[0]->tensor;
    r->tensor.offset = a[1]->i;
    r->tensor.sizes = int_tuple(a[2], ctx);
    r->tensor.strides = int_tuple(a[3], ctx);
    check(r->tensor.sizes.size() == r->tensor.strides.size(), ctx,
          ": tensor sizes and strides differ in length");
    return r;
  }
  fail(ctx, ": '", f, "' cannot be called");
}

}  // namespace elit::io::pickle_detail
