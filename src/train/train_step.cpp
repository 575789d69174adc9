#include "elit/train/train_step.h"

#include <cmath>

#include "elit/models/budget.h"
#include "elit/models/dropout_draws.h"
#include "elit/runtime/error.h"
#include "elit/train/grad_clip.h"

namespace elit::train {
namespace {

NamedParameters trainable(const models::DiffusionModel& model) {
  NamedParameters out;
  for (const auto& p : model.named_parameters()) {
    if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  }
  return out;
}

}  // namespace

TrainStep::TrainStep(models::ModelPtr model, TrainStepOptions options,
                     std::shared_ptr<Communicator> communicator)
    : model_(std::move(model)),
      options_(options),
      comm_(std::move(communicator)),
      optimizer_(trainable(*model_), options.adamw),
      ema_(*model_),
      scaler_(options.precision == Precision::kFloat16) {
  options_.lr.validate();
  check(options_.grad_bucket_bytes >= 0, "gradient bucket size must be >= 0, got ",
        options_.grad_bucket_bytes);
  if (comm_->world_size() > 1 && options_.grad_bucket_bytes > 0) {
    reducer_ = std::make_unique<GradientReducer>(optimizer_.parameters(), comm_,
                                                 options_.grad_bucket_bytes);
  }
}

std::vector<torch::Tensor> TrainStep::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : optimizer_.parameters()) out.push_back(p);
  return out;
}

torch::Tensor TrainStep::rank_rows(const torch::Tensor& global) const {
  const int world = comm_->world_size();
  if (world == 1) return global;
  return global.slice(/*dim=*/0, comm_->rank(), global.size(0), world).contiguous();
}

double TrainStep::accumulate(const std::vector<data::Batch>& micro_batches,
                             std::optional<double> budget) {
  const auto n = static_cast<double>(micro_batches.size());
  double loss_sum = 0;
  for (size_t i = 0; i < micro_batches.size(); ++i) {
    const auto& batch = micro_batches[i];
    const auto x0 = batch.x.to(options_.device, torch::kFloat32);
    // Randomness is drawn for the global batch (the same generator state on every rank) and each
    // rank keeps its rows, so an example's time, noise and label drops do not depend on the
    // number of processes: W ranks compute the update of one process with the same global batch.
    const int64_t global = x0.size(0) * comm_->world_size();
    auto labels = batch.labels.to(options_.device);
    if (options_.legacy_label_dropout > 0) {
      // Published train.py --legacy: labels dropped here, before the model's own dropout.
      const auto drop =
          rank_rows(torch::rand({global})).to(options_.device) < options_.legacy_label_dropout;
      labels = torch::where(drop, torch::full_like(labels, model_->spec().num_classes), labels);
    }
    const auto condition = model_->condition_for_labels(labels);
    // Published order: times, then noise.
    const auto& objective = options_.objective;
    const auto t =
        rank_rows(flow::sample_time(objective.time_sampling, objective.path, global, x0.options()));
    auto noise_shape = x0.sizes().vec();
    noise_shape[0] = global;
    const auto noise = rank_rows(torch::randn(noise_shape, x0.options()));
    torch::Tensor loss;
    {
      // The model's own condition dropout draws for the global batch too.
      models::DropoutDrawScope dropout_draws([&](int64_t rows, const torch::Device& device) {
        return rank_rows(torch::rand({rows * comm_->world_size()}, torch::device(device)));
      });
      AutocastGuard autocast(options_.precision, options_.device);
      loss = objective.loss(*model_, x0, noise, t, condition, budget).mean();
    }
    // Accumulated gradients average the micro-batches (accelerate divides the loss likewise).
    // The last backward of the update all-reduces gradient buckets as they fill.
    if (reducer_ && i + 1 == micro_batches.size()) reducer_->arm();
    scaler_.scale_loss(loss / n).backward();
    loss_sum += loss.item<double>();
  }
  return loss_sum / n;
}

StepResult TrainStep::run(const std::vector<data::Batch>& micro_batches,
                          std::optional<double> budget, int64_t step) {
  check(!micro_batches.empty(), "a training step needs at least one micro-batch");
  model_->train();
  optimizer_.zero_grad();
  StepResult r;
  r.lr = options_.lr.at(step);
  std::vector<torch::Tensor> reduce = {
      torch::tensor(accumulate(micro_batches, budget), torch::kFloat64)};
  const auto params = parameters();
  if (reducer_) {
    reducer_->finish();  // gradients: already started during backward
  } else {
    for (const auto& p : params) {
      if (p.grad().defined()) reduce.push_back(p.grad());
    }
  }
  comm_->all_reduce_mean(reduce);  // the loss (for the log and the skip decision) [and gradients]
  r.loss = reduce[0].item<double>();
  scaler_.unscale(params);
  r.grad_norm = clip_grad_norm(params, options_.max_grad_norm);
  if (!std::isfinite(r.loss)) {
    r.skip_reason = "non-finite loss " + std::to_string(r.loss);
  } else if (!std::isfinite(r.grad_norm)) {
    r.overflow = scaler_.enabled();
    r.skip_reason =
        r.overflow ? "fp16 gradient overflow (loss scale " + std::to_string(scaler_.scale()) + ")"
                   : "non-finite gradient norm " + std::to_string(r.grad_norm);
  } else {
    optimizer_.step(r.lr);
    ema_.update(*model_, options_.ema_decay);
    r.applied = true;
  }
  scaler_.update(/*found_non_finite=*/!r.applied);
  optimizer_.zero_grad();
  return r;
}

}  // namespace elit::train
