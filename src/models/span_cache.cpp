#include "elit/models/span_cache.h"

#include "elit/runtime/error.h"

namespace elit::models {

CachedSpan parse_cached_span(const std::string& name) {
  if (name == "core") return CachedSpan::core;
  if (name == "interface") return CachedSpan::interface;
  fail("unknown TeaCache span '", name, "' (expected core or interface)");
}

std::string cached_span_name(CachedSpan span) {
  return span == CachedSpan::core ? "core" : "interface";
}

}  // namespace elit::models
