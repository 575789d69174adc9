#include "pickle_shape.h"

#include <map>
#include <utility>
#include <vector>

#include "elit/runtime/error.h"

namespace elit::io::pickle_detail {
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

}  // namespace

std::set<const PyValue*> check_shape(const PyRef& root, const std::string& where) {
  enum State { kOpen, kDone };
  std::map<const PyValue*, std::pair<State, uint64_t>> seen;  // state, expanded size when done
  struct Frame {
    const PyValue* v;
    size_t next;
  };
  std::vector<Frame> path{{root.get(), 0}};
  seen[root.get()] = {kOpen, 0};
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
  std::set<const PyValue*> reached;
  for (const auto& [v, state] : seen) reached.insert(v);
  return reached;
}

}  // namespace elit::io::pickle_detail
