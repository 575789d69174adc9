#include "elit/io/context_file.h"

#include <algorithm>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

models::Condition batched(const TensorMap& t, const std::string& origin) {
  models::Condition c;
  c.context = t.at("context");
  check(c.context.dim() == 3, "'", origin, "': context must be (N, L, C), got ", c.context.sizes());
  const int64_t N = c.context.size(0), L = c.context.size(1);
  auto mask = t.find("context_mask");
  if (mask != t.end()) {
    check(mask->second.dim() == 2 && mask->second.size(0) == N && mask->second.size(1) == L, "'",
          origin, "': context_mask must be (", N, ", ", L, "), got ", mask->second.sizes());
    c.context_mask = mask->second != 0;
  } else {
    c.context_mask = torch::ones({N, L}, torch::kBool);
  }
  auto pooled = t.find("pooled");
  if (pooled != t.end()) {
    check(pooled->second.dim() == 2 && pooled->second.size(0) == N, "'", origin,
          "': pooled must be (", N, ", P), got ", pooled->second.sizes());
    c.pooled = pooled->second;
  }
  for (const auto& [key, _] : t) {
    check(key == "context" || key == "context_mask" || key == "pooled", "'", origin,
          "': unexpected entry '", key,
          "' next to a batched 'context' (expected context, "
          "context_mask, pooled)");
  }
  return c;
}

// The tensor "<prefix>.<i>" for i = 0, 1, ... (stops at the first gap; leftovers are an error).
std::vector<torch::Tensor> numbered(const TensorMap& t, const std::string& prefix) {
  std::vector<torch::Tensor> out;
  for (auto it = t.find(prefix + ".0"); it != t.end();
       it = t.find(prefix + "." + std::to_string(out.size()))) {
    out.push_back(it->second);
  }
  return out;
}

models::Condition per_sample(const TensorMap& t, const std::string& origin) {
  const auto contexts = numbered(t, "context");
  const auto pooled = numbered(t, "pooled");
  check(!contexts.empty(), "'", origin,
        "' has no 'context' or 'context.0' entry (precomputed "
        "text context: context (N, L, C) or context.<i> (L_i, C))");
  check(pooled.empty() || pooled.size() == contexts.size(), "'", origin, "' has ", contexts.size(),
        " context.<i> but ", pooled.size(), " pooled.<i> entries");
  check(t.size() == contexts.size() + pooled.size(), "'", origin,
        "': entries other than "
        "context.0..",
        contexts.size() - 1, " and pooled.<i> (or a gap in the numbering)");
  const int64_t N = static_cast<int64_t>(contexts.size()), C = contexts[0].size(-1);
  int64_t L = 0;
  for (int64_t i = 0; i < N; ++i) {
    check(contexts[i].dim() == 2 && contexts[i].size(1) == C, "'", origin, "': context.", i,
          " must be (L, ", C, ") like context.0, got ", contexts[i].sizes());
    L = std::max(L, contexts[i].size(0));
  }
  models::Condition c;
  c.context = torch::zeros({N, L, C}, contexts[0].dtype());
  c.context_mask = torch::zeros({N, L}, torch::kBool);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t li = contexts[i].size(0);
    c.context[i].narrow(0, 0, li).copy_(contexts[i]);
    c.context_mask[i].narrow(0, 0, li).fill_(true);
  }
  if (!pooled.empty()) {
    for (int64_t i = 0; i < N; ++i) {
      check(pooled[i].dim() == 1 && pooled[i].size(0) == pooled[0].size(0), "'", origin,
            "': pooled.", i, " must be (", pooled[0].size(0), "), got ", pooled[i].sizes());
    }
    c.pooled = torch::stack(pooled);
  }
  return c;
}

}  // namespace

models::Condition context_from_tensors(const TensorMap& tensors, const std::string& origin) {
  return tensors.count("context") ? batched(tensors, origin) : per_sample(tensors, origin);
}

models::Condition read_context_file(const std::string& path) {
  return context_from_tensors(read_safetensors(path).tensors, path);
}

void write_context_file(const std::string& path, const models::Condition& condition) {
  check(condition.context.defined(), "write_context_file: the condition has no context");
  TensorMap t{{"context", condition.context}};
  if (condition.context_mask.defined()) t["context_mask"] = condition.context_mask.to(torch::kBool);
  if (condition.pooled.defined()) t["pooled"] = condition.pooled;
  write_safetensors(path, t);
}

}  // namespace elit::io
