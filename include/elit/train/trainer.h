// The training run: builds the dataset and the model from a TrainConfig, resumes from the run's
// latest checkpoint when asked, and loops over updates with logs, checkpoints and previews.
//
// Run folder (published layout): <output_dir>/<exp_name>/
//   args.json      the resolved configuration (every key; `elit train --config args.json` reruns)
//   log.txt        human-readable messages;  log.jsonl  one JSON object per update
//   checkpoints/   see checkpoint.h;         samples/   preview grids (pixel data only)
//
// Randomness: torch's default CPU generator is seeded with seed on every rank before the model is
// built (weights), then drives times, noise and the model's label/caption dropout, each drawn for
// the global batch with every rank keeping its rows (models/dropout_draws.h); the budget sampler
// (rank 0 draws, every rank uses its level) and the data order have their own seeded generators.
// All of them are saved in checkpoints, so an interrupted run that is resumed produces
// bit-identical weights on the same machine and thread count, and W processes give the weights
// of one process with the same global batch (within float tolerance).
//
// Distributed (Communicator with W > 1 ranks): rank 0's initial weights are broadcast; each rank
// reads every W-th example of the shuffled epoch; gradients and the logged loss are averaged over
// ranks; only rank 0 writes the run folder (args, logs, previews, checkpoints), every rank waits
// for its checkpoint; a run resumes on any number of processes.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "elit/data/dataset.h"
#include "elit/models/budget.h"
#include "elit/train/train_config.h"
#include "elit/train/train_step.h"

namespace elit::train {

struct StepLog {
  int64_t step = 0, max_steps = 0, epoch = 0, images = 0;
  double loss = 0, lr = 0, grad_norm = 0, seconds = 0, elapsed_s = 0;
  std::optional<double> budget;  // fraction of latents kept (ELIT)
  bool skipped = false;
  std::string skip_reason;
};

struct TrainEvents {
  std::function<bool()> should_stop;                   // polled before every update (e.g. Ctrl-C)
  std::function<void(const StepLog&)> on_step;         // after every update attempt (rank 0)
  std::function<void(const std::string&)> on_message;  // also appended to log.txt (rank 0)
  std::function<void(const std::string& tmp_dir)> before_checkpoint_rename;  // tests
};

struct TrainSummary {
  int64_t start_step = 0, end_step = 0;
  std::string stop_reason;  // "max_train_steps", "epochs", "interrupted", "max_minutes"
  std::string last_checkpoint;
  double last_loss = 0;
};

// The model configuration a training config gives on a dataset: the named model, the training
// keys that name model arguments the family has (encoder_depth, qk_norm, num_classes, group_size
// <- elit_group_size, elit_*_mask_prob, elit_*_depth, class_dropout_prob or
// caption_dropout_prob <- cfg_prob unless legacy), the dataset's shape, then model_config's
// explicit values.
nlohmann::json training_model_config(const TrainConfig& config, const data::DatasetInfo& data);

// The dataset options a training config names.
data::DatasetOptions training_dataset_options(const TrainConfig& config);

class Trainer {
 public:
  explicit Trainer(TrainConfig config,
                   std::shared_ptr<Communicator> communicator = local_communicator(),
                   std::function<void(const std::string&)> on_message = {});
  TrainSummary run(const TrainEvents& events = {});

  models::DiffusionModel& model() { return step_->model(); }
  TrainStep& train_step() { return *step_; }
  int64_t step() const { return step_count_; }
  const std::string& run_dir() const { return run_dir_; }
  const nlohmann::json& model_config() const { return model_config_; }
  const data::DatasetInfo& dataset_info() const { return dataset_->info(); }

 private:
  void setup_run_folder();
  void resume(int64_t step);
  void restore_rng(const nlohmann::json& saved, const std::string& state_path);
  void save_checkpoint(const TrainEvents& events);
  nlohmann::json state_json();
  io::Metadata checkpoint_metadata() const;
  std::optional<double> draw_budget();
  // "interrupted", "max_minutes" or "" as rank 0 sees it (broadcast, so all ranks stop together).
  std::string agreed_stop_reason(const TrainEvents& events);
  void write_preview();
  void log_step(const StepLog& log);
  void message(const std::string& text);
  double elapsed_s() const;  // over all sessions of the run
  double session_s() const;  // since this session's run() started (max_minutes counts this)

  TrainConfig config_;
  std::shared_ptr<Communicator> comm_;
  std::function<void(const std::string&)> on_message_;
  std::string run_dir_, checkpoints_dir_;
  data::DatasetPtr dataset_;
  nlohmann::json model_config_;
  std::unique_ptr<TrainStep> step_;
  std::unique_ptr<models::BudgetSampler> budgets_;
  int64_t step_count_ = 0, data_position_ = 0, images_seen_ = 0, skipped_in_a_row_ = 0;
  std::optional<int64_t> last_saved_step_;
  double elapsed_before_ = 0;  // seconds spent by earlier (resumed) sessions
  std::chrono::steady_clock::time_point started_;
};

}  // namespace elit::train
