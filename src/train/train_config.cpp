#include "elit/train/train_config.h"

#include "elit/runtime/config_schema.h"
#include "elit/runtime/error.h"

namespace elit::train {
namespace {
using nlohmann::json;
using C = TrainConfig;

void check_unsupported(const TrainConfig& t) {
  check((t.enc_type == "none" || t.enc_type.empty()) && t.proj_coeff == 0.0, "REPA (enc_type '",
        t.enc_type, "', proj_coeff ", t.proj_coeff,
        ") is not supported: set enc_type: none and proj_coeff: 0");
  check(t.s3_cache_dir.empty(), "s3_cache_dir: S3 data is not supported; use a local data_dir");
  check(t.model.rfind("DFM-", 0) != 0, "model '", t.model, "': DFM models are not supported");
  check(t.prediction == "v", "prediction '", t.prediction,
        "' is not supported (the published code implements v only)");
}

// Every key, in help order; own() marks elit's own keys.
const ConfigSchema<TrainConfig>& schema() {
  static const auto s =
      ConfigSchema<C>("training config")
          .unknown_key_hint("elit train --help lists the keys")
          // run folder, schedule
          .nullable_text("exp_name", &C::exp_name,
                         "run name: the run folder is <output_dir>/<exp_name> (required)")
          .key("output_dir", &C::output_dir, "parent folder of run folders")
          .key("resume_step", &C::resume_step,
               "-1: resume from the latest checkpoint (as --resume), 0: start fresh, N: resume "
               "from step N",
               at_least<int64_t>(-1))
          .key("max_train_steps", &C::max_train_steps, "optimizer updates to run",
               positive<int64_t>())
          .key("epochs", &C::epochs, "upper bound on passes over the data", positive<int64_t>())
          .key("checkpointing_steps", &C::checkpointing_steps,
               "write a checkpoint every N updates (and at the end)", positive<int64_t>())
          .key("sampling_steps", &C::sampling_steps,
               "write a preview grid (Euler, 50 steps, CFG 4) to <run>/samples every N updates "
               "and after the first; 0: never",
               at_least<int64_t>(0))
          .key("sampling_images", &C::sampling_images,
               "images in the preview grid (labels cycle through the classes)", positive<int64_t>())
          .own()
          .key("max_minutes", &C::max_minutes,
               "stop (with a checkpoint) after this many minutes of this session; 0: no limit")
          .own()
          .key("logging_dir", &C::logging_dir,
               "accepted for compatibility; logs go to <run>/log.txt and log.jsonl")
          .key("report_to", &C::report_to,
               "accepted for compatibility; only the local JSON-lines log is written")
          // model
          .nullable_text("model", &C::model, "model name, e.g. ELIT-SiT-S/2 or SiT-B/4 (required)")
          .key("model_config", &C::model_config,
               "model constructor arguments overriding the named model (hidden_size, depth, "
               "num_heads, dit_decoder_depth, patch_size, ...)")
          .own()
          .key("num_classes", &C::num_classes, "class count; null: the dataset's",
               positive<int64_t>())
          .key("encoder_depth", &C::encoder_depth, "ELIT: spatial blocks before Read")
          .key("qk_norm", &C::qk_norm, "per-head q/k LayerNorm in the transformer blocks")
          .key("fused_attn", &C::fused_attn, "accepted for compatibility (no effect)")
          .key("elit_max_mask_prob", &C::elit_max_mask_prob,
               "ELIT: largest fraction of latents dropped per group during training; null: 1 - "
               "1/g^2")
          .key("elit_min_mask_prob", &C::elit_min_mask_prob,
               "ELIT: smallest fraction dropped; null: = max (one budget). Levels are the "
               "multiples of 1/g^2 in [min, max], one drawn per update")
          .key("elit_group_size", &C::elit_group_size,
               "ELIT: latent group size g (g x g latents per group)")
          .key("elit_read_depth", &C::elit_read_depth, "ELIT: Read depth (1 as published)")
          .key("elit_write_depth", &C::elit_write_depth, "ELIT: Write depth")
          // data
          .key("dataset", &C::dataset, "fashion_mnist | image_folder | latents")
          .own()
          .nullable_text("data_dir", &C::data_dir,
                         "dataset folder; null: Fashion-MNIST's Debian folder")
          .nullable_text("s3_cache_dir", &C::s3_cache_dir,
                         "accepted for compatibility; must be null")
          .key("split", &C::split, "Fashion-MNIST split: train | test")
          .own()
          .key("resolution", &C::resolution,
               "image size (latents: 8 x latent size); null: the dataset's (Fashion-MNIST: 32, "
               "28 padded)",
               positive<int64_t>())
          .key("random_flip", &C::random_flip,
               "random horizontal flips; null: on for image folders, off otherwise")
          .own()
          .key("on_bad_image", &C::on_bad_image,
               "an unreadable image: fail | skip (reported by path)")
          .own()
          .key("latents_scale", &C::latents_scale,
               "latents: z * latents_scale + latents_bias (SD-VAE)")
          .own()
          .key("latents_bias", &C::latents_bias, "latents: see latents_scale")
          .own()
          .key("batch_size", &C::batch_size,
               "images per update and process (divided by the process count)", positive<int64_t>())
          .key("gradient_accumulation_steps", &C::gradient_accumulation_steps,
               "micro-batches of batch_size per update", positive<int64_t>())
          .key("num_workers", &C::num_workers, "loader threads (0: load on the training thread)",
               at_least<int64_t>(0))
          .key("prefetch", &C::prefetch, "batches loaded ahead", positive<int64_t>())
          .own()
          // optimisation
          .key("learning_rate", &C::learning_rate, "AdamW learning rate")
          .key("adam_beta1", &C::adam_beta1, "AdamW beta1")
          .key("adam_beta2", &C::adam_beta2, "AdamW beta2")
          .key("adam_weight_decay", &C::adam_weight_decay, "AdamW decoupled weight decay")
          .key("adam_epsilon", &C::adam_epsilon, "AdamW epsilon")
          .key("max_grad_norm", &C::max_grad_norm, "gradient-norm clipping; <= 0: none")
          .key("lr_scheduler_type", &C::lr_scheduler_type, "constant | constant_with_linear_warmup")
          .key("warmup_steps", &C::warmup_steps, "linear warmup updates (from lr/warmup_steps)")
          .key("ema_decay", &C::ema_decay, "EMA decay per update (published 0.9999)",
               in_range(0.0, 1.0))
          .own()
          .key("seed", &C::seed, "seed of weights, noise, times, budgets and data order")
          .key("max_skipped_steps", &C::max_skipped_steps,
               "stop after this many consecutive updates with a non-finite loss or gradient",
               positive<int64_t>())
          .own()
          // objective
          .key("path_type", &C::path_type, "interpolant: linear | cosine")
          .key("prediction", &C::prediction, "model target: v (velocity)")
          .key("weighting", &C::weighting, "time sampling: uniform | lognormal")
          .key("cfg_prob", &C::cfg_prob,
               "label dropout to the null class for classifier-free guidance (sets the model's "
               "class_dropout_prob)",
               in_range(0.0, 1.0))
          .key("legacy", &C::legacy,
               "published legacy mode: drop labels in the trainer with cfg_prob and keep the "
               "model's own class_dropout_prob")
          .key("enc_type", &C::enc_type, "REPA encoder: only none")
          .key("proj_coeff", &C::proj_coeff, "REPA loss weight: only 0")
          // runtime
          .key("mixed_precision", &C::mixed_precision,
               "no | bf16 (CPU, CUDA) | fp16 (CUDA, with loss scaling); published default fp16 "
               "is CUDA-only")
          .key("allow_tf32", &C::allow_tf32, "TF32 matmuls on CUDA")
          .key("device", &C::device, "cpu | cuda | cuda:N")
          .own()
          .key("threads", &C::threads, "libtorch CPU threads; 0: all cores")
          .own()
          .key("ddp_bucket_mb", &C::ddp_bucket_mb,
               "distributed: gradient all-reduce bucket size in MB; a bucket is reduced while "
               "backward still runs; 0: one all-reduce after backward",
               at_least(0.0))
          .own()
          // DFM (published, unsupported)
          .key("stages_count", &C::stages_count, "DFM only (unsupported)")
          .key("stage_weights", &C::stage_weights, "DFM only (unsupported)")
          .key("stage_sampling_thresholds", &C::stage_sampling_thresholds, "DFM only (unsupported)")
          .key("num_steps_per_scale", &C::num_steps_per_scale, "DFM only (unsupported)");
  return s;
}

}  // namespace

std::string normalize_key(const std::string& key) {
  std::string out = key;
  for (auto& ch : out) {
    if (ch == '-') ch = '_';
  }
  return out;
}

const std::vector<ConfigKey>& train_config_keys() {
  static const std::vector<ConfigKey> keys = schema().describe(TrainConfig{});
  return keys;
}

TrainConfig train_config_from_json(const json& in) {
  check(in.is_object(), "training config must be a mapping of keys to values, got ", in.dump());
  json given = json::object();  // published spellings: --learning-rate and learning_rate
  for (const auto& [raw, value] : in.items()) given[normalize_key(raw)] = value;
  TrainConfig t;
  try {
    schema().read(given, t);
  } catch (const Error& e) {  // name the key as it was spelled
    std::string message = e.what();
    for (const auto& [raw, value] : in.items()) {
      const auto name = normalize_key(raw);
      const auto at = message.find("'" + name + "'");
      if (name != raw && at != std::string::npos) message.replace(at + 1, name.size(), raw);
    }
    fail(message);
  }
  check(!t.model.empty(), "training config needs 'model' (e.g. ELIT-SiT-S/2)");
  check(!t.exp_name.empty(), "training config needs 'exp_name' (the run folder's name)");
  check_unsupported(t);
  t.resolved = schema().to_json(t);
  return t;
}

}  // namespace elit::train
