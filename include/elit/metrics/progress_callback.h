// How long-running metric code reports progress without depending on the CLI's progress bar.
#pragma once
#include <cstdint>
#include <functional>

namespace elit::metrics {

// Called with (work done, total work) in any unit the caller chose; may be empty.
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

}  // namespace elit::metrics
