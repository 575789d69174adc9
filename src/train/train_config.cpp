#include "elit/train/train_config.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::train {
namespace {
using nlohmann::json;

ConfigKey key(std::string name, json def, std::string type, std::string help, bool pub = true) {
  return {std::move(name), std::move(def), std::move(type), std::move(help), pub};
}

bool type_ok(const json& v, std::string type) {
  if (!type.empty() && type.back() == '?') {
    if (v.is_null()) return true;
    type.pop_back();
  }
  if (type == "int")
    return v.is_number_integer() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (type == "float") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "bool") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "list") return v.is_array();
  return true;
}

template <typename T>
std::optional<T> opt(const json& v) {
  return v.is_null() ? std::nullopt : std::optional<T>(v.get<T>());
}

void check_unsupported(const json& c) {
  const auto enc = c["enc_type"].get<std::string>();
  check((enc == "none" || enc.empty()) && c["proj_coeff"].get<double>() == 0.0, "REPA (enc_type '",
        enc, "', proj_coeff ", c["proj_coeff"].get<double>(),
        ") is not supported: set enc_type: none and proj_coeff: 0");
  check(c["s3_cache_dir"].is_null(),
        "s3_cache_dir: S3 data is not supported; use a local data_dir");
  const auto model = c["model"].is_string() ? c["model"].get<std::string>() : "";
  check(model.rfind("DFM-", 0) != 0, "model '", model, "': DFM models are not supported");
  check(c["prediction"] == "v", "prediction '", c["prediction"].get<std::string>(),
        "' is not supported (the published code implements v only)");
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
  static const std::vector<ConfigKey> keys = {
      // run folder, schedule
      key("exp_name", nullptr, "string?",
          "run name: the run folder is <output_dir>/<exp_name> (required)"),
      key("output_dir", "exps", "string", "parent folder of run folders"),
      key("resume_step", 0, "int",
          "-1: resume from the latest checkpoint (as --resume), 0: start fresh, N: resume from "
          "step N"),
      key("max_train_steps", 400000, "int", "optimizer updates to run"),
      key("epochs", 1400, "int", "upper bound on passes over the data"),
      key("checkpointing_steps", 10000, "int",
          "write a checkpoint every N updates (and at the end)"),
      key("sampling_steps", 10000, "int",
          "write a preview grid (Euler, 50 steps, CFG 4) to <run>/samples every N updates and "
          "after the first; 0: never"),
      key("sampling_images", 16, "int",
          "images in the preview grid (labels cycle through the classes)", false),
      key("max_minutes", 0.0, "float",
          "stop (with a checkpoint) after this many minutes of this session; 0: no limit", false),
      key("logging_dir", "logs", "string",
          "accepted for compatibility; logs go to <run>/log.txt and log.jsonl"),
      key("report_to", "wandb", "string",
          "accepted for compatibility; only the local JSON-lines log is written"),
      // model
      key("model", nullptr, "string?", "model name, e.g. ELIT-SiT-S/2 or SiT-B/4 (required)"),
      key("model_config", json::object(), "object",
          "model constructor arguments overriding the named model (hidden_size, depth, num_heads, "
          "dit_decoder_depth, patch_size, ...)",
          false),
      key("num_classes", nullptr, "int?", "class count; null: the dataset's"),
      key("encoder_depth", 8, "int", "ELIT: spatial blocks before Read"),
      key("qk_norm", false, "bool", "per-head q/k LayerNorm in the transformer blocks"),
      key("fused_attn", true, "bool", "accepted for compatibility (no effect)"),
      key("elit_max_mask_prob", 0.0, "float?",
          "ELIT: largest fraction of latents dropped per group during training; null: 1 - 1/g^2"),
      key("elit_min_mask_prob", nullptr, "float?",
          "ELIT: smallest fraction dropped; null: = max (one budget). Levels are the multiples of "
          "1/g^2 in [min, max], one drawn per update"),
      key("elit_group_size", 4, "int", "ELIT: latent group size g (g x g latents per group)"),
      key("elit_read_depth", 1, "int", "ELIT: Read depth (1 as published)"),
      key("elit_write_depth", 1, "int", "ELIT: Write depth"),
      // data
      key("dataset", "fashion_mnist", "string", "fashion_mnist | image_folder | latents", false),
      key("data_dir", nullptr, "string?", "dataset folder; null: Fashion-MNIST's Debian folder"),
      key("s3_cache_dir", nullptr, "string?", "accepted for compatibility; must be null"),
      key("split", "train", "string", "Fashion-MNIST split: train | test", false),
      key("resolution", nullptr, "int?",
          "image size (latents: 8 x latent size); null: the dataset's (Fashion-MNIST: 32, 28 "
          "padded)"),
      key("random_flip", nullptr, "bool?",
          "random horizontal flips; null: on for image folders, off otherwise", false),
      key("on_bad_image", "fail", "string", "an unreadable image: fail | skip (reported by path)",
          false),
      key("latents_scale", 0.18215, "float", "latents: z * latents_scale + latents_bias (SD-VAE)",
          false),
      key("latents_bias", 0.0, "float", "latents: see latents_scale", false),
      key("batch_size", 256, "int", "images per update and process (divided by the process count)"),
      key("gradient_accumulation_steps", 1, "int", "micro-batches of batch_size per update"),
      key("num_workers", 4, "int", "loader threads (0: load on the training thread)"),
      key("prefetch", 4, "int", "batches loaded ahead", false),
      // optimisation
      key("learning_rate", 1e-4, "float", "AdamW learning rate"),
      key("adam_beta1", 0.9, "float", "AdamW beta1"),
      key("adam_beta2", 0.999, "float", "AdamW beta2"),
      key("adam_weight_decay", 0.0, "float", "AdamW decoupled weight decay"),
      key("adam_epsilon", 1e-8, "float", "AdamW epsilon"),
      key("max_grad_norm", 1.0, "float", "gradient-norm clipping; <= 0: none"),
      key("lr_scheduler_type", "constant_with_linear_warmup", "string",
          "constant | constant_with_linear_warmup"),
      key("warmup_steps", 0, "int", "linear warmup updates (from lr/warmup_steps)"),
      key("ema_decay", 0.9999, "float", "EMA decay per update (published 0.9999)", false),
      key("seed", 0, "int", "seed of weights, noise, times, budgets and data order"),
      key("max_skipped_steps", 10, "int",
          "stop after this many consecutive updates with a non-finite loss or gradient", false),
      // objective
      key("path_type", "linear", "string", "interpolant: linear | cosine"),
      key("prediction", "v", "string", "model target: v (velocity)"),
      key("weighting", "uniform", "string", "time sampling: uniform | lognormal"),
      key("cfg_prob", 0.1, "float",
          "label dropout to the null class for classifier-free guidance (sets the model's "
          "class_dropout_prob)"),
      key("legacy", false, "bool",
          "published legacy mode: drop labels in the trainer with cfg_prob and keep the model's "
          "own class_dropout_prob"),
      key("enc_type", "none", "string", "REPA encoder: only none"),
      key("proj_coeff", 0.0, "float", "REPA loss weight: only 0"),
      // runtime
      key("mixed_precision", "no", "string",
          "no | bf16 (CPU, CUDA) | fp16 (CUDA, with loss scaling); published default fp16 is "
          "CUDA-only"),
      key("allow_tf32", false, "bool", "TF32 matmuls on CUDA"),
      key("device", "cpu", "string", "cpu | cuda | cuda:N", false),
      key("threads", 0, "int", "libtorch CPU threads; 0: all cores", false),
      key("ddp_bucket_mb", 4.0, "float",
          "distributed: gradient all-reduce bucket size in MB; a bucket is reduced while backward "
          "still runs; 0: one all-reduce after backward",
          false),
      // DFM (published, unsupported)
      key("stages_count", 2, "int", "DFM only (unsupported)"),
      key("stage_weights", json::array({0.9, 0.1}), "list", "DFM only (unsupported)"),
      key("stage_sampling_thresholds", json::array({0.1}), "list", "DFM only (unsupported)"),
      key("num_steps_per_scale", json::array({40, 10}), "list", "DFM only (unsupported)"),
  };
  return keys;
}

TrainConfig train_config_from_json(const json& in) {
  check(in.is_object(), "training config must be a mapping of keys to values, got ", in.dump());
  json c = json::object();
  for (const auto& k : train_config_keys()) c[k.name] = k.default_value;
  std::string unknown;
  for (const auto& [raw, value] : in.items()) {
    const auto name = normalize_key(raw);
    if (!c.contains(name)) {
      unknown += (unknown.empty() ? "'" : ", '") + raw + "'";
      continue;
    }
    c[name] = value;
  }
  check(unknown.empty(), "unknown training config key(s) ", unknown,
        " (elit train --help lists the keys)");
  for (const auto& k : train_config_keys()) {
    check(type_ok(c[k.name], k.type), "training config key '", k.name, "' must be ",
          k.type.back() == '?' ? "null or " : "", "a ", k.type.substr(0, k.type.find('?')),
          ", got ", c[k.name].dump());
  }
  check(c["model"].is_string(), "training config needs 'model' (e.g. ELIT-SiT-S/2)");
  check(c["exp_name"].is_string() && !c["exp_name"].get<std::string>().empty(),
        "training config needs 'exp_name' (the run folder's name)");
  check_unsupported(c);

  TrainConfig t;
  t.output_dir = c["output_dir"];
  t.exp_name = c["exp_name"];
  t.resume_step = c["resume_step"].get<int64_t>();
  t.max_train_steps = c["max_train_steps"].get<int64_t>();
  t.epochs = c["epochs"].get<int64_t>();
  t.checkpointing_steps = c["checkpointing_steps"].get<int64_t>();
  t.sampling_steps = c["sampling_steps"].get<int64_t>();
  t.sampling_images = c["sampling_images"].get<int64_t>();
  t.max_minutes = c["max_minutes"];
  t.model = c["model"];
  t.model_config = c["model_config"];
  t.num_classes = opt<int64_t>(c["num_classes"]);
  t.resolution = opt<int64_t>(c["resolution"]);
  t.encoder_depth = c["encoder_depth"].get<int64_t>();
  t.qk_norm = c["qk_norm"];
  t.elit_max_mask_prob = opt<double>(c["elit_max_mask_prob"]);
  t.elit_min_mask_prob = opt<double>(c["elit_min_mask_prob"]);
  t.elit_group_size = c["elit_group_size"].get<int64_t>();
  t.elit_read_depth = c["elit_read_depth"].get<int64_t>();
  t.elit_write_depth = c["elit_write_depth"].get<int64_t>();
  t.dataset = c["dataset"];
  t.data_dir = c["data_dir"].is_null() ? "" : c["data_dir"].get<std::string>();
  t.split = c["split"];
  t.random_flip = opt<bool>(c["random_flip"]);
  t.on_bad_image = c["on_bad_image"];
  t.latents_scale = c["latents_scale"];
  t.latents_bias = c["latents_bias"];
  t.batch_size = c["batch_size"].get<int64_t>();
  t.gradient_accumulation_steps = c["gradient_accumulation_steps"].get<int64_t>();
  t.num_workers = c["num_workers"].get<int64_t>();
  t.prefetch = c["prefetch"].get<int64_t>();
  t.learning_rate = c["learning_rate"];
  t.adam_beta1 = c["adam_beta1"];
  t.adam_beta2 = c["adam_beta2"];
  t.adam_weight_decay = c["adam_weight_decay"];
  t.adam_epsilon = c["adam_epsilon"];
  t.max_grad_norm = c["max_grad_norm"];
  t.lr_scheduler_type = c["lr_scheduler_type"];
  t.warmup_steps = c["warmup_steps"].get<int64_t>();
  t.ema_decay = c["ema_decay"];
  t.seed = c["seed"].get<int64_t>();
  t.max_skipped_steps = c["max_skipped_steps"].get<int64_t>();
  t.path_type = c["path_type"];
  t.prediction = c["prediction"];
  t.weighting = c["weighting"];
  t.cfg_prob = c["cfg_prob"];
  t.legacy = c["legacy"];
  t.mixed_precision = c["mixed_precision"];
  t.allow_tf32 = c["allow_tf32"];
  t.device = c["device"];
  t.threads = c["threads"].get<int64_t>();
  t.ddp_bucket_mb = c["ddp_bucket_mb"];

  auto positive = [](const char* name, int64_t v) {
    check(v > 0, "training config key '", name, "' must be > 0, got ", v);
  };
  positive("max_train_steps", t.max_train_steps);
  positive("epochs", t.epochs);
  positive("checkpointing_steps", t.checkpointing_steps);
  positive("batch_size", t.batch_size);
  positive("gradient_accumulation_steps", t.gradient_accumulation_steps);
  positive("max_skipped_steps", t.max_skipped_steps);
  if (t.resolution) positive("resolution", *t.resolution);
  if (t.num_classes) positive("num_classes", *t.num_classes);
  check(t.resume_step >= -1, "resume_step must be -1, 0 or a step, got ", t.resume_step);
  check(t.num_workers >= 0 && t.prefetch >= 1, "num_workers must be >= 0 and prefetch >= 1");
  check(t.ddp_bucket_mb >= 0, "ddp_bucket_mb must be >= 0, got ", t.ddp_bucket_mb);
  check(t.cfg_prob >= 0 && t.cfg_prob <= 1, "cfg_prob must be in [0, 1], got ", t.cfg_prob);
  check(t.ema_decay >= 0 && t.ema_decay <= 1, "ema_decay must be in [0, 1], got ", t.ema_decay);
  check(t.sampling_steps >= 0 && t.sampling_images >= 1,
        "sampling_steps must be >= 0 and sampling_images >= 1");
  t.resolved = c;
  return t;
}

}  // namespace elit::train
