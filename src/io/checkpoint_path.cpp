#include "elit/io/checkpoint_path.h"

#include <algorithm>
#include <filesystem>

#include "elit/runtime/error.h"

namespace elit::io {
namespace fs = std::filesystem;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The ema.safetensors of the highest-numbered step under <run>/checkpoints, or "".
std::string latest_checkpoint(const fs::path& checkpoints) {
  std::string best;
  unsigned long long best_step = 0;
  for (const auto& entry : fs::directory_iterator(checkpoints)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_directory() || !all_digits(name)) continue;
    if (!fs::exists(entry.path() / "ema.safetensors")) continue;
    const auto step = std::stoull(name);
    if (best.empty() || step > best_step) {
      best = (entry.path() / "ema.safetensors").string();
      best_step = step;
    }
  }
  return best;
}

}  // namespace

std::string resolve_model_path(const std::string& path) {
  check(!path.empty(), "no model given (--ckpt FILE|CHECKPOINT_DIR|RUN_DIR)");
  const fs::path p(path);
  check(fs::exists(p), "checkpoint '", path, "' does not exist (expected a model file, a ",
        "checkpoint folder with ema.safetensors, or a training run folder)");
  if (!fs::is_directory(p)) return path;
  if (fs::exists(p / "ema.safetensors")) return (p / "ema.safetensors").string();
  if (fs::is_directory(p / "checkpoints")) {
    const auto latest = latest_checkpoint(p / "checkpoints");
    check(!latest.empty(), "run folder '", path, "' has no checkpoints/<step>/ema.safetensors yet");
    return latest;
  }
  fail("folder '", path, "' is neither a checkpoint (no ema.safetensors) nor a training run ",
       "(no checkpoints/ folder)");
}

std::string model_data_space(const ModelFile& file, int64_t in_channels) {
  auto it = file.metadata.find(kDataSpaceKey);
  if (it != file.metadata.end()) {
    check(it->second == "pixels" || it->second == "latents", "model '", file.source,
          "': ", kDataSpaceKey, " is '", it->second, "', expected 'pixels' or 'latents'");
    return it->second;
  }
  return in_channels == 1 || in_channels == 3 ? "pixels" : "latents";
}

}  // namespace elit::io
