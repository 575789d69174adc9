// Checkpoint folders of a run, written atomically:
//
//   <output_dir>/<exp_name>/checkpoints/<step:07d>/
//       model.safetensors      weights + model config (io::write_model_file; any command loads it)
//       ema.safetensors        EMA weights, same format
//       optimizer.safetensors  AdamW moments and step counts by parameter name
//       trainer_state.json     step, data position, RNG states, budget sampler, loss scaler, config
//
// A checkpoint is filled in a hidden temporary folder (".tmp-<step>"), every file and the folder
// are fsynced, and the folder is renamed into place: a crash leaves either no new checkpoint or a
// complete one, and the previous checkpoints untouched.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace elit::train {

inline constexpr const char* kModelFile = "model.safetensors";
inline constexpr const char* kEmaFile = "ema.safetensors";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kTrainerStateFile = "trainer_state.json";

// "0001000".
std::string checkpoint_name(int64_t step);

// Creates <checkpoints_dir>/<step:07d>: `fill` writes the files into the temporary folder it is
// given; `before_rename` (tests) runs after fill and fsync, just before the rename. If either
// throws, the temporary folder is removed and nothing else changes. An existing checkpoint of the
// same step is replaced. Returns the final folder.
std::string commit_checkpoint(
    const std::string& checkpoints_dir, int64_t step,
    const std::function<void(const std::string& tmp_dir)>& fill,
    const std::function<void(const std::string& tmp_dir)>& before_rename = {});

// The highest step with a complete checkpoint folder (one holding trainer_state.json).
std::optional<int64_t> latest_checkpoint(const std::string& checkpoints_dir);

// Removes temporary folders a crashed run left behind; returns how many.
int remove_stale_checkpoint_temporaries(const std::string& checkpoints_dir);

}  // namespace elit::train
