#include "elit/io/pickle.h"

namespace elit::io {

using Kind = PyValue::Kind;

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

}  // namespace elit::io
