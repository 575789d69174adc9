// A data-only unpickler for the pickles inside torch.save files.
//
// It understands the opcodes of pickle protocols 2-5 that such files use and builds plain values.
// A class reference (GLOBAL / STACK_GLOBAL) is never imported or called: only an allow-list of
// names that the loader knows how to build as data is accepted (OrderedDict, argparse.Namespace,
// torch storages, torch._utils._rebuild_tensor_v2 / _rebuild_parameter); anything else is refused
// with an error naming the class. No code from the file is ever executed.
#pragma once
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace elit::io {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

// Where a tensor's bytes live: a storage record of the torch.save archive.
struct TensorRecord {
  std::string storage_key;  // archive entry data/<key>
  torch::ScalarType dtype = torch::kFloat32;
  int64_t storage_numel = 0;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> sizes, strides;
};

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, Set, Tensor, Object,
                    Global, Storage };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                              // Str, Bytes; class name for Global/Object
  std::vector<PyRef> items;                   // List, Tuple, Set
  std::vector<std::pair<PyRef, PyRef>> dict;  // Dict (insertion order); Object attributes
  TensorRecord tensor;                        // Tensor (lazy), Storage

  // Dict lookup by string key; nullptr when absent or not a dict/object.
  PyRef get(const std::string& key) const;
  std::string describe() const;  // short human-readable type name for errors
};

// Resolves BINPERSID ids (the tuple ('storage', type, key, location, numel)).
using PersistentLoader = std::function<PyRef(const PyRef& pid)>;

// Parses `data`; `origin` names it in errors.
PyRef unpickle(const std::string& data, const PersistentLoader& persistent_load,
               const std::string& origin);

}  // namespace elit::io
