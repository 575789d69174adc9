// elit train-vae: a small KL autoencoder (reconstruction + KL, no GAN) trained on this CPU on
// Fashion-MNIST or an image folder, written as an elit VAE file that --vae accepts everywhere.
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "elit/io/image.h"
#include "elit/io/state_dict.h"
#include "elit/io/vae_file.h"
#include "elit/runtime/error.h"
#include "elit/train/vae_training.h"
#include "progress.h"
#include "sampling_flags.h"
#include "vae_flags.h"

namespace elit::app {
namespace {

struct TrainVAEFlags {
  std::string data = "fashion-mnist", config, out = "vae_run", on_bad_image = "fail";
  int64_t resolution = 0, holdout = 256;
  train::VAETrainOptions train;
};

// The default small autoencoder (f = 4: 32x32 -> 8x8x4), then the --config keys on top.
models::AutoencoderKLConfig vae_config(const TrainVAEFlags& f, const data::DatasetInfo& info) {
  nlohmann::json j = {{"ch", 32},
                      {"ch_mult", {1, 2, 2}},
                      {"num_res_blocks", 1},
                      {"z_channels", 4},
                      {"embed_dim", 4},
                      {"in_channels", info.channels},
                      {"out_ch", info.channels},
                      {"resolution", info.height}};
  if (!f.config.empty()) {
    const auto user = read_config_file(f.config);
    check(user.is_object(), "VAE config '", f.config, "' must be a mapping");
    const auto& dd = user.contains("ddconfig") ? user["ddconfig"] : user;
    for (const auto& [k, v] : dd.items()) j[k] = v;
    for (const auto& [k, v] : user.items()) {
      if (k != "ddconfig") j[k] = v;
    }
  }
  auto c = models::autoencoder_kl_config_from_json(j);
  check(c.in_channels == info.channels && c.out_ch == info.channels, "VAE config: in_channels and ",
        "out_ch must be the images' ", info.channels, " channels");
  return c;
}

void run(const TrainVAEFlags& f) {
  start_command();
  const auto dataset =
      data::make_dataset(image_dataset_options(f.data, f.resolution, f.on_bad_image));
  const auto config = vae_config(f, dataset->info());
  models::AutoencoderKL vae(config);
  auto opts = f.train;
  opts.holdout = std::min<int64_t>(f.holdout, dataset->size() / 10);
  note("training a KL autoencoder (" + std::to_string(vae->parameters().size()) + " tensors, f=" +
       std::to_string(config.downsample_factor()) + ", z " + std::to_string(config.embed_dim) +
       ") on " + dataset->info().name + ", holding out the last " + std::to_string(opts.holdout));
  Progress bar("train-vae", opts.steps, "step");
  if (opts.max_minutes > 0) bar.set_time_limit(60.0 * opts.max_minutes);
  const auto r = train::train_vae(*vae, *dataset, opts, [&](const train::VAETrainStep& s) {
    bar.update(s.step, {{"loss", format_number(s.loss)}, {"kl", format_number(s.kl)}});
  });
  bar.finish();
  const auto held = train::dataset_images(*dataset, dataset->size() - opts.holdout, opts.holdout);
  const double psnr = train::reconstruction_psnr(*vae, held);
  auto fitted = config;
  fitted.scale_factor = train::fitted_scale_factor(*vae, held);
  models::AutoencoderKL out(fitted);  // same weights, the fitted scale in its configuration
  torch::NoGradGuard no_grad;
  io::load_state_dict(*out, io::state_dict(*vae), "trained VAE");
  write_text(f.out + "/config.json", models::autoencoder_kl_config_to_json(fitted).dump(2) + "\n");
  io::write_vae_file(f.out + "/vae.safetensors", *out);
  // Held-out originals (top row) over their reconstructions.
  const auto shown = held.narrow(0, 0, std::min<int64_t>(16, held.size(0)));
  const auto recon = out->decode(out->encode(shown).mean).clamp(-1, 1);
  io::write_png(f.out + "/reconstructions.png",
                io::make_grid(io::to_uint8_images(torch::cat({shown, recon})), shown.size(0)));
  const nlohmann::json report = {{"steps", r.steps},
                                 {"seconds", r.seconds},
                                 {"last_loss", r.last_loss},
                                 {"holdout_psnr_db", psnr},
                                 {"holdout_images", held.size(0)},
                                 {"scale_factor", fitted.scale_factor},
                                 {"dataset", dataset->info().name}};
  write_text(f.out + "/train_vae.json", report.dump(2) + "\n");
  note("held-out PSNR " + format_number(psnr) + " dB after " + std::to_string(r.steps) +
       " steps; wrote " + f.out + "/vae.safetensors (scale_factor " +
       format_number(fitted.scale_factor) + "), reconstructions.png, train_vae.json");
}

}  // namespace

void add_train_vae_command(CLI::App& app) {
  auto f = std::make_shared<TrainVAEFlags>();
  auto* cmd = app.add_subcommand(
      "train-vae",
      "train a small KL autoencoder (L1/L2 reconstruction + KL weight, no GAN) on Fashion-MNIST "
      "or an image folder; writes OUT/vae.safetensors for --vae, with the scale factor that gives "
      "its latents unit variance.\n"
      "  elit train-vae --data fashion-mnist --max-minutes 5 --out runs/vae\n"
      "Default network: ch 32, ch_mult 1,2,2, one block per level, z 4 (32x32 -> 8x8x4); "
      "--config takes ldm ddconfig keys (JSON/YAML) to change it.");
  cmd->add_option("--data", f->data, "fashion-mnist or an image folder")->capture_default_str();
  cmd->add_option("--config", f->config, "VAE configuration (ldm ddconfig keys, JSON/YAML)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--resolution", f->resolution,
                  "image size (folders: ADM centre crop; fashion-mnist: 0 = 32, 28 padded)")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "output folder")->capture_default_str();
  cmd->add_option("--steps", f->train.steps, "updates")->capture_default_str();
  cmd->add_option("--max-minutes", f->train.max_minutes, "stop after this long (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--batch-size", f->train.batch_size, "images per update")->capture_default_str();
  cmd->add_option("--learning-rate,--lr", f->train.learning_rate, "Adam learning rate")
      ->capture_default_str();
  cmd->add_option("--kl-weight", f->train.kl_weight, "weight of the KL term (ldm: 1e-6)")
      ->capture_default_str();
  cmd->add_option("--loss", f->train.loss, "reconstruction loss: l1 or l2")
      ->check(CLI::IsMember({"l1", "l2"}))
      ->capture_default_str();
  cmd->add_option("--holdout", f->holdout,
                  "last N images never trained on; PSNR is measured on them (at most 10%)")
      ->capture_default_str();
  cmd->add_option("--seed", f->train.seed, "random seed")->capture_default_str();
  cmd->add_option("--on-bad-image", f->on_bad_image, "an unreadable image: fail | skip")
      ->check(CLI::IsMember({"fail", "skip"}))
      ->capture_default_str();
  cmd->callback([f] { run(*f); });
}

}  // namespace elit::app
