// The trainer's checkpoints: what is saved next to the weights and how a run resumes from it.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elit/io/model_file.h"
#include "elit/io/state_dict.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/train/checkpoint.h"
#include "elit/train/trainer.h"

namespace elit::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string to_hex(const torch::Tensor& bytes) {
  static const char* digits = "0123456789abcdef";
  const auto b = bytes.contiguous();
  const auto* p = b.data_ptr<uint8_t>();
  std::string out;
  for (int64_t i = 0; i < b.numel(); ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

torch::Tensor from_hex(const std::string& hex, const std::string& origin) {
  check(hex.size() % 2 == 0, origin, ": corrupt RNG state");
  auto out = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* p = out.data_ptr<uint8_t>();
  for (size_t i = 0; i < hex.size(); i += 2) {
    p[i / 2] = static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// Drops log.jsonl lines of updates after `step` (written by the interrupted session after its
// last checkpoint), so that the resumed log reads as one run.
void truncate_step_log(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (json::parse(line).value("step", int64_t{0}) > step) break;
    } catch (const json::exception&) {
      break;  // a torn last line
    }
    kept += line + "\n";
  }
  write_file_atomically(path.string(), kept);
}

std::string changed_keys(const json& saved, const json& now) {
  std::string out;
  for (const auto& [key, value] : now.items()) {
    if (!saved.contains(key) || saved[key] != value) {
      out += " " + key + " (checkpoint " + (saved.contains(key) ? saved[key].dump() : "absent") +
             ", now " + value.dump() + ")";
    }
  }
  return out;
}

}  // namespace

io::Metadata Trainer::checkpoint_metadata() const {
  const auto& info = dataset_->info();
  io::Metadata m = {{"elit.data_space", info.data_space},
                    {"elit.dataset", info.name},
                    {"elit.step", std::to_string(step_count_)},
                    {"elit.class_names", json(info.class_names).dump()}};
  if (info.data_space == "latents") {
    m["elit.latents_scale"] = std::to_string(info.latents_scale);
    m["elit.latents_bias"] = std::to_string(info.latents_bias);
  }
  return m;
}

json Trainer::state_json() {
  // Collective: every rank contributes its generator state.
  const auto rng = comm_->all_gather(to_hex(at::detail::getDefaultCPUGenerator().get_state()));
  json s = {{"format", "elit-trainer-state-1"},
            {"step", step_count_},
            {"data_position", data_position_},
            {"images_seen", images_seen_},
            {"elapsed_s", elapsed_s()},
            {"skipped_in_a_row", skipped_in_a_row_},
            {"world_size", comm_->world_size()},
            {"torch_rng", rng},
            {"loss_scaler", step_->scaler().state()},
            {"dataset", dataset_->info().name},
            {"model_config", model_config_},
            {"config", config_.resolved}};
  s["budget_sampler"] = budgets_ ? json(budgets_->state()) : json();
  return s;
}

void Trainer::save_checkpoint(const TrainEvents& events) {
  const auto state = state_json();
  if (comm_->is_main()) {
    const auto meta = checkpoint_metadata();
    const auto dir = commit_checkpoint(
        checkpoints_dir_, step_count_,
        [&](const std::string& tmp) {
          auto m = meta;
          m["elit.weights"] = "model";
          io::write_model_file(tmp + "/" + kModelFile, model(), m);
          m["elit.weights"] = "ema";
          io::write_model_file(tmp + "/" + kEmaFile, step_->ema().weights(), model().config_json(),
                               m);
          io::write_safetensors(
              tmp + "/" + kOptimizerFile, step_->optimizer().state_dict(),
              {{"elit.optimizer", "adamw"}, {"elit.step", std::to_string(step_count_)}});
          write_file_atomically(tmp + "/" + kTrainerStateFile, state.dump(2) + "\n");
        },
        events.before_checkpoint_rename);
    message("step " + std::to_string(step_count_) + ": checkpoint " + dir);
  }
  last_saved_step_ = step_count_;
  comm_->barrier();
}

void Trainer::restore_rng(const json& saved, const std::string& state_path) {
  check(saved.is_array() && !saved.empty(), "'", state_path, "' has no torch_rng states");
  // Every rank draws the same numbers (see the constructor), so the states of a run on any number
  // of processes are equal and a resume on another number of processes continues exactly.
  const bool same =
      std::all_of(saved.begin(), saved.end(), [&](const json& r) { return r == saved[0]; });
  const int saved_world = static_cast<int>(saved.size());
  const int index = saved_world == comm_->world_size() ? comm_->rank() : 0;
  if (!same && saved_world != comm_->world_size()) {
    message("warning: checkpoint has different RNG states of " + std::to_string(saved_world) +
            " processes; every rank continues from rank 0's");
  }
  auto generator = at::detail::getDefaultCPUGenerator();  // a handle to the default generator
  generator.set_state(from_hex(saved[index], state_path));
}

void Trainer::resume(int64_t step) {
  const auto dir = fs::path(checkpoints_dir_) / checkpoint_name(step);
  const auto state_path = (dir / kTrainerStateFile).string();
  check(fs::exists(state_path), "cannot resume from step ", step, ": no complete checkpoint at '",
        dir.string(), "'");
  json s;
  try {
    s = json::parse(read_file(state_path));
  } catch (const json::exception& e) {
    fail("corrupt trainer state '", state_path, "': ", e.what());
  }
  check(s.value("format", "") == "elit-trainer-state-1", "'", state_path,
        "' is not an elit trainer state");
  const auto diff = changed_keys(s["model_config"], model_config_);
  check(diff.empty(), "cannot resume '", dir.string(), "': the model configuration changed:", diff);
  const auto data_diff = changed_keys(
      s["config"], {{"batch_size", config_.batch_size},
                    {"gradient_accumulation_steps", config_.gradient_accumulation_steps},
                    {"seed", config_.seed},
                    {"dataset", config_.dataset},
                    {"data_dir", config_.resolved["data_dir"]}});
  if (!data_diff.empty()) message("warning: resuming with different data settings:" + data_diff);

  auto weights = io::read_model_file((dir / kModelFile).string()).weights;
  io::load_state_dict(model(), weights, (dir / kModelFile).string());
  step_->ema().load(io::read_safetensors((dir / kEmaFile).string()).tensors,
                    (dir / kEmaFile).string());
  step_->optimizer().load_state_dict(io::read_safetensors((dir / kOptimizerFile).string()).tensors,
                                     (dir / kOptimizerFile).string());
  step_->scaler().load_state(s["loss_scaler"]);
  restore_rng(s["torch_rng"], state_path);
  if (budgets_ && s["budget_sampler"].is_string()) budgets_->set_state(s["budget_sampler"]);
  step_count_ = s["step"].get<int64_t>();
  data_position_ = s["data_position"].get<int64_t>();
  images_seen_ = s.value("images_seen", int64_t{0});
  elapsed_before_ = s.value("elapsed_s", 0.0);
  skipped_in_a_row_ = s.value("skipped_in_a_row", int64_t{0});
  last_saved_step_ = step_count_;
  if (comm_->is_main()) truncate_step_log(fs::path(run_dir_) / "log.jsonl", step_count_);
  message("resumed from " + dir.string() + " (step " + std::to_string(step_count_) + ")");
}

}  // namespace elit::train
