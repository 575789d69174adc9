// The Python names a torch.save pickle may refer to, and the plain data each stands for (private
// to io/pickle.cpp). Nothing is imported or executed: the unpickler refuses every other name.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "elit/io/pickle.h"

namespace elit::io::pickle_detail {

// Whether `full_name` ("module.name") is on the allow-list: OrderedDict, argparse.Namespace,
// set/frozenset, _codecs.encode, torch storages and torch._utils' tensor rebuilders.
bool allowed_global(const std::string& full_name);

// Allocates a value of a kind (the unpickler keeps track of everything it builds).
using MakeValue = std::function<PyRef(PyValue::Kind)>;

// The value that calling the allowed global `name` with `args` (REDUCE / NEWOBJ) stands for;
// `ctx` names the pickle and position in errors.
PyRef call_global(const std::string& name, const std::vector<PyRef>& args, const MakeValue& make,
                  const std::string& ctx);

}  // namespace elit::io::pickle_detail
