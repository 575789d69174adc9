// One optimizer update: forward/backward over the micro-batches (gradient accumulation) under
// autocast, gradient all-reduce, loss-scale handling, clipping, AdamW, EMA. Shared by the trainer
// and `elit bench train`; knows nothing of datasets, checkpoints or logs.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elit/data/loader.h"
#include "elit/flow/rectified_flow.h"
#include "elit/models/diffusion_model.h"
#include "elit/train/adamw.h"
#include "elit/train/communicator.h"
#include "elit/train/ema.h"
#include "elit/train/gradient_reducer.h"
#include "elit/train/lr_schedule.h"
#include "elit/train/mixed_precision.h"

namespace elit::train {

struct TrainStepOptions {
  flow::FlowObjective objective;
  LrSchedule lr;
  AdamWOptions adamw;
  double max_grad_norm = 1.0;
  double ema_decay = 0.9999;
  Precision precision = Precision::kFloat32;
  torch::Device device = torch::kCPU;
  // Published legacy mode: the trainer replaces labels by the null class with this probability
  // (on top of the model's own class_dropout_prob). 0: labels go to the model unchanged.
  double legacy_label_dropout = 0.0;
  // With several ranks: gradients are averaged in buckets of this size while backward runs
  // (GradientReducer); 0: one bucketed all-reduce after backward.
  int64_t grad_bucket_bytes = 4 << 20;
};

struct StepResult {
  double loss = 0;       // mean over micro-batches and ranks
  double grad_norm = 0;  // before clipping
  double lr = 0;
  bool applied = false;   // false: skipped (non-finite loss/gradient or fp16 overflow)
  bool overflow = false;  // skipped by the fp16 loss scaler (an expected event, not a failure)
  std::string skip_reason;
};

class TrainStep {
 public:
  TrainStep(models::ModelPtr model, TrainStepOptions options,
            std::shared_ptr<Communicator> communicator = local_communicator());

  // One update at `budget` (nullopt: the model's full budget) from `micro_batches` (gradient
  // accumulation: each contributes 1/n of the gradient). `step` = updates done before this one.
  StepResult run(const std::vector<data::Batch>& micro_batches, std::optional<double> budget,
                 int64_t step);

  models::DiffusionModel& model() { return *model_; }
  models::ModelPtr model_ptr() const { return model_; }
  AdamW& optimizer() { return optimizer_; }
  EMA& ema() { return ema_; }
  LossScaler& scaler() { return scaler_; }
  const TrainStepOptions& options() const { return options_; }
  std::vector<torch::Tensor> parameters() const;

 private:
  double accumulate(const std::vector<data::Batch>& micro_batches, std::optional<double> budget);
  // This rank's rows of a draw for the global batch: local row i is global row i * W + rank (the
  // loader's layout).
  torch::Tensor rank_rows(const torch::Tensor& global) const;

  models::ModelPtr model_;
  TrainStepOptions options_;
  std::shared_ptr<Communicator> comm_;
  AdamW optimizer_;
  EMA ema_;
  LossScaler scaler_;
  std::unique_ptr<GradientReducer> reducer_;  // several ranks and grad_bucket_bytes > 0
};

}  // namespace elit::train
