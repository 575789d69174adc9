#include "elit/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "elit/io/image.h"
#include "elit/io/model_file.h"
#include "elit/io/state_dict.h"
#include "elit/models/registry.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/cpu.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"
#include "elit/train/checkpoint.h"
#include "elit/train/preview.h"

namespace elit::train {
namespace fs = std::filesystem;
using nlohmann::json;

data::DatasetOptions training_dataset_options(const TrainConfig& c) {
  data::DatasetOptions o;
  o.kind = c.dataset;
  o.data_dir = c.data_dir;
  o.split = c.split;
  o.resolution = c.resolution.value_or(0);
  o.random_flip = c.random_flip ? static_cast<int>(*c.random_flip) : -1;
  o.on_bad_image = c.on_bad_image;
  o.latents_scale = c.latents_scale;
  o.latents_bias = c.latents_bias;
  return o;
}

json training_model_config(const TrainConfig& c, const data::DatasetInfo& d) {
  check(d.height == d.width, "dataset '", d.name, "' has ", d.height, "x", d.width,
        " examples; the models take square inputs");
  json named = {{"model", c.model}};
  const auto& backbone = models::backbone_for(named);
  // Which arguments this family has: keys of its resolved default configuration.
  const json family_keys = backbone.resolve_config(named);
  // The training options that every family with a latent interface spells the same way.
  json derived = {{"encoder_depth", c.encoder_depth},
                  {"qk_norm", c.qk_norm},
                  {"group_size", c.elit_group_size},
                  {"elit_read_depth", c.elit_read_depth},
                  {"elit_write_depth", c.elit_write_depth}};
  derived["elit_max_mask_prob"] = c.elit_max_mask_prob ? json(*c.elit_max_mask_prob) : json();
  derived["elit_min_mask_prob"] = c.elit_min_mask_prob ? json(*c.elit_min_mask_prob) : json();
  // Label dropout lives in the model (published LabelEmbedder); cfg_prob sets its rate. In legacy
  // mode the trainer drops with cfg_prob and the model keeps its own rate, as published.
  if (!c.legacy) {
    derived["class_dropout_prob"] = c.cfg_prob;    // class-conditional families
    derived["caption_dropout_prob"] = c.cfg_prob;  // text-conditioned families (MM-DiT)
  }
  json out = named;
  out.update(backbone.input_config({d.height, d.channels, c.num_classes.value_or(d.num_classes),
                                    d.class_names}));  // in the family's spelling
  for (const auto& [key, value] : derived.items()) {
    if (family_keys.contains(key)) out[key] = value;
  }
  for (const auto& [key, value] : c.model_config.items()) out[key] = value;
  out = models::resolve_model_config(out);
  if (out.contains("num_classes") && d.labeled) {
    check(out["num_classes"].get<int64_t>() >= d.num_classes, "dataset '", d.name, "' has ",
          d.num_classes, " classes but the model num_classes is ", out["num_classes"].dump());
  }
  return out;
}

Trainer::Trainer(TrainConfig config, std::shared_ptr<Communicator> communicator,
                 std::function<void(const std::string&)> on_message)
    : config_(std::move(config)),
      comm_(std::move(communicator)),
      on_message_(std::move(on_message)) {
  started_ = std::chrono::steady_clock::now();
  if (config_.threads > 0) set_threads(static_cast<int>(config_.threads));
  check(config_.batch_size % comm_->world_size() == 0, "batch_size ", config_.batch_size,
        " is not divisible by the ", comm_->world_size(), " processes");
  run_dir_ = (fs::path(config_.output_dir) / config_.exp_name).string();
  checkpoints_dir_ = (fs::path(run_dir_) / "checkpoints").string();
  auto data_options = training_dataset_options(config_);
  data_options.warn = [this](const std::string& m) { message("warning: " + m); };
  dataset_ = data::make_dataset(data_options);
  model_config_ = training_model_config(config_, dataset_->info());

  const torch::Device device(config_.device);
  check(device.is_cpu() || torch::cuda::is_available(), "device '", config_.device,
        "' requested but this libtorch has no usable CUDA device");
  // The same seed on every rank (the published set_seed uses seed * W + rank): TrainStep draws
  // times and noise for the global batch and keeps its rows, so the run does not depend on the
  // number of processes, and every rank's generator stays in the same state.
  torch::manual_seed(static_cast<uint64_t>(config_.seed));
  auto model = io::create_model(model_config_);
  const auto spec = model->spec();  // the shape the family really built
  const auto& d = dataset_->info();
  check(spec.in_channels == d.channels && spec.height == d.height && spec.width == d.width,
        "model '", config_.model, "' takes [", spec.in_channels, ", ", spec.height, ", ",
        spec.width, "] inputs but dataset '", d.name, "' gives [", d.channels, ", ", d.height, ", ",
        d.width, "]; set the size in model_config");
  model->to(device);
  {
    // Every rank starts from rank 0's weights (DDP does the same).
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> weights;
    for (const auto& [name, t] : io::state_dict(*model)) weights.push_back(t);
    comm_->broadcast(weights, 0);
  }
  TrainStepOptions o;
  o.objective.path = flow::parse_path_type(config_.path_type);
  o.objective.time_sampling = flow::parse_time_sampling(config_.weighting);
  o.lr = {config_.lr_scheduler_type, config_.learning_rate, config_.warmup_steps};
  o.adamw = {config_.adam_beta1, config_.adam_beta2, config_.adam_epsilon,
             config_.adam_weight_decay};
  o.max_grad_norm = config_.max_grad_norm;
  o.ema_decay = config_.ema_decay;
  o.precision = parse_mixed_precision(config_.mixed_precision);
  o.device = device;
  o.legacy_label_dropout = config_.legacy ? config_.cfg_prob : 0.0;
  o.grad_bucket_bytes = static_cast<int64_t>(config_.ddp_bucket_mb * (1 << 20));
  if (device.is_cuda() && config_.allow_tf32) at::globalContext().setAllowTF32CuBLAS(true);
  step_ = std::make_unique<TrainStep>(model, o, comm_);

  const auto budgets = models::training_budgets(spec);
  if (!budgets.empty()) {
    budgets_ =
        std::make_unique<models::BudgetSampler>(budgets, static_cast<uint64_t>(config_.seed));
  }
  setup_run_folder();
  std::optional<int64_t> resume_from;
  if (config_.resume_step == -1) resume_from = latest_checkpoint(checkpoints_dir_);
  if (config_.resume_step > 0) resume_from = config_.resume_step;
  if (resume_from) resume(*resume_from);
}

void Trainer::setup_run_folder() {
  if (!comm_->is_main()) return;
  fs::create_directories(checkpoints_dir_);
  const int stale = remove_stale_checkpoint_temporaries(checkpoints_dir_);
  if (stale > 0) message("removed " + std::to_string(stale) + " incomplete checkpoint folder(s)");
  write_file_atomically((fs::path(run_dir_) / "args.json").string(),
                        config_.resolved.dump(2) + "\n");
}

void Trainer::message(const std::string& text) {
  if (!comm_->is_main()) return;
  if (on_message_) on_message_(text);
  std::ofstream(fs::path(run_dir_) / "log.txt", std::ios::app) << text << "\n";
}

double Trainer::session_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

double Trainer::elapsed_s() const {
  return elapsed_before_ + session_s();
}

std::optional<double> Trainer::draw_budget() {
  if (!budgets_) return std::nullopt;
  // One budget per update for the whole batch; rank 0 draws, every rank uses it (published
  // synchronized_budget_sampling). The other ranks never draw: without the broadcast they would
  // run at an invalid budget and fail.
  std::vector<torch::Tensor> budget = {
      torch::tensor(comm_->is_main() ? budgets_->next() : -1.0, torch::kFloat64)};
  comm_->broadcast(budget, 0);
  return budget[0].item<double>();
}

std::string Trainer::agreed_stop_reason(const TrainEvents& events) {
  std::string reason;
  if (events.should_stop && events.should_stop())
    reason = "interrupted";
  else if (config_.max_minutes > 0 && session_s() >= config_.max_minutes * 60)
    reason = "max_minutes";
  if (comm_->world_size() == 1) return reason;
  // Ranks see Ctrl-C and the clock at slightly different moments; all stop after the same update
  // (or the next collective would pair a checkpoint with a gradient all-reduce). Rank 0 decides.
  std::vector<torch::Tensor> flag = {torch::tensor(reason.empty()            ? 0
                                                   : reason == "interrupted" ? 1
                                                                             : 2,
                                                   torch::kInt64)};
  comm_->broadcast(flag, 0);
  const auto code = flag[0].item<int64_t>();
  return code == 0 ? "" : code == 1 ? "interrupted" : "max_minutes";
}

void Trainer::log_step(const StepLog& s) {
  if (!comm_->is_main()) return;
  json j = {{"step", s.step},           {"loss", s.loss},          {"lr", s.lr},
            {"grad_norm", s.grad_norm}, {"epoch", s.epoch},        {"images", s.images},
            {"seconds", s.seconds},     {"elapsed_s", s.elapsed_s}};
  j["budget"] = s.budget ? json(*s.budget) : json();
  if (s.skipped) j["skipped"] = s.skip_reason;
  // NaN is not JSON: a non-finite loss is logged as a string.
  for (const char* k : {"loss", "grad_norm"}) {
    if (!std::isfinite(j[k].get<double>())) j[k] = std::to_string(j[k].get<double>());
  }
  std::ofstream(fs::path(run_dir_) / "log.jsonl", std::ios::app) << j.dump() << "\n";
}

void Trainer::write_preview() {
  const auto& info = dataset_->info();
  if (!comm_->is_main() || info.data_space != "pixels") return;
  const int64_t n = config_.sampling_images;
  // Fixed noise and labels for every preview, from their own generator (training RNG untouched).
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config_.seed) + 1);
  const auto noise =
      torch::randn({n, info.channels, info.height, info.width}, gen, torch::kFloat32);
  const auto labels = torch::arange(n, torch::kInt64).remainder(info.num_classes);
  const auto device = step_->options().device;
  const auto x = preview_samples(model(), noise.to(device), labels.to(device));
  const auto columns = std::min<int64_t>(n, std::max<int64_t>(info.num_classes, 4));
  const auto path = fs::path(run_dir_) / "samples" / (checkpoint_name(step_count_) + ".png");
  fs::create_directories(path.parent_path());
  io::write_png(path.string(), io::make_grid(io::to_uint8_images(x.cpu()), columns));
  message("step " + std::to_string(step_count_) + ": preview " + path.string());
}

TrainSummary Trainer::run(const TrainEvents& events) {
  started_ = std::chrono::steady_clock::now();
  TrainSummary summary;
  summary.start_step = step_count_;
  data::LoaderOptions lo;
  lo.batch_size = config_.batch_size / comm_->world_size();
  lo.seed = static_cast<uint64_t>(config_.seed);
  lo.workers = static_cast<int>(config_.num_workers);
  lo.prefetch = static_cast<int>(config_.prefetch);
  lo.rank = comm_->rank();
  lo.world_size = comm_->world_size();
  data::DataLoader loader(dataset_, lo, data_position_);
  const auto& c = config_;
  message("training " + model_config_.value("model", std::string("model")) + " on " +
          dataset_->info().name + " (" + std::to_string(dataset_->size()) +
          " examples) from step " + std::to_string(step_count_) + " to " +
          std::to_string(c.max_train_steps));
  for (;;) {
    if (step_count_ >= c.max_train_steps)
      summary.stop_reason = "max_train_steps";
    else if (loader.position() / loader.batches_per_epoch() >= c.epochs)
      summary.stop_reason = "epochs";
    else
      summary.stop_reason = agreed_stop_reason(events);
    if (!summary.stop_reason.empty()) break;

    std::vector<data::Batch> micro;
    for (int64_t i = 0; i < c.gradient_accumulation_steps; ++i) micro.push_back(loader.next());
    const auto budget = draw_budget();
    const Stopwatch watch;
    const auto r = step_->run(micro, budget, step_count_);
    StepLog s;
    s.seconds = watch.seconds();
    data_position_ = loader.position();
    s.images = c.batch_size * c.gradient_accumulation_steps;
    images_seen_ += s.images;
    if (r.applied) {
      ++step_count_;
      skipped_in_a_row_ = 0;
    } else if (!r.overflow) {
      ++skipped_in_a_row_;
      message("step " + std::to_string(step_count_ + 1) + ": " + r.skip_reason +
              "; update skipped (" + std::to_string(skipped_in_a_row_) + " in a row, limit " +
              std::to_string(c.max_skipped_steps) + ")");
    }
    s.step = step_count_;
    s.max_steps = c.max_train_steps;
    s.epoch = micro.back().epoch;
    s.loss = r.loss;
    s.lr = r.lr;
    s.grad_norm = r.grad_norm;
    s.budget = budget;
    s.elapsed_s = elapsed_s();
    s.skipped = !r.applied;
    s.skip_reason = r.skip_reason;
    summary.last_loss = r.loss;
    log_step(s);
    if (events.on_step && comm_->is_main()) events.on_step(s);
    if (skipped_in_a_row_ >= c.max_skipped_steps) {
      fail("stopped at step ", step_count_ + 1, " after ", skipped_in_a_row_,
           " updates in a row with a non-finite loss or gradient (", r.skip_reason,
           "); the last checkpoint ",
           last_saved_step_ ? checkpoint_name(*last_saved_step_) : std::string("(none)"),
           " is untouched. Lower learning_rate or check the data");
    }
    if (!r.applied) continue;
    if (step_count_ % c.checkpointing_steps == 0) save_checkpoint(events);
    if (c.sampling_steps > 0 && (step_count_ == 1 || step_count_ % c.sampling_steps == 0)) {
      write_preview();
    }
  }
  if (step_count_ > 0 && last_saved_step_ != step_count_) save_checkpoint(events);
  summary.end_step = step_count_;
  if (last_saved_step_) {
    summary.last_checkpoint =
        (fs::path(checkpoints_dir_) / checkpoint_name(*last_saved_step_)).string();
  }
  message("stopped at step " + std::to_string(step_count_) + " (" + summary.stop_reason + ")");
  return summary;
}

}  // namespace elit::train
