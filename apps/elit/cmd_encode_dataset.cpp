// elit encode-dataset: an image folder (class sub-folders = labels) or Fashion-MNIST encoded by a
// VAE into the latent shards that `elit train` reads (dataset: latents), as the published
// preprocessing does: ADM centre crop, optional mirrored copies, posterior mean and std stored.
#include "cli_common.h"
#include "commands.h"
#include "elit/data/latent_encoding.h"
#include "elit/runtime/error.h"
#include "progress.h"
#include "vae_flags.h"

namespace elit::app {
namespace {

struct EncodeDatasetFlags {
  VAEFlags vae;
  std::string data, split = "train", out, on_bad_image = "fail";
  int64_t resolution = 256, shard_size = 4096, max_images = 0;
  bool flips = false;
};

void run(const EncodeDatasetFlags& f) {
  start_command();
  // No random flips: mirrored copies are --flips, stored as examples of their own.
  auto d = image_dataset_options(f.data, f.resolution, f.on_bad_image);
  d.split = f.split;
  const auto images = data::make_dataset(d);
  auto vae = f.vae.load();
  data::EncodeDatasetOptions o;
  o.shard_size = f.shard_size;
  o.flips = f.flips;
  o.max_images = f.max_images;
  o.codec = f.vae.codec_options();
  const int64_t n = (f.max_images > 0 ? std::min(f.max_images, images->size()) : images->size()) *
                    (f.flips ? 2 : 1);
  note("encoding " + std::to_string(n) + " examples of " + images->info().name + " (" +
       std::to_string(images->info().num_classes) + " classes) into " + f.out);
  Progress bar("encode", n, "img");
  o.progress = [&](int64_t done, int64_t) { bar.update(done); };
  const auto r = data::encode_dataset(*vae, *images, f.out, o);
  bar.finish();
  note("wrote " + std::to_string(r.shards) + " shards (" + std::to_string(r.resumed_shards) +
       " kept from an earlier run) of " + std::to_string(r.examples) +
       " examples; train on them with: elit train --dataset latents --data-dir " + f.out +
       " --latents-scale " + std::to_string(vae->config().scale_factor));
}

}  // namespace

void add_encode_dataset_command(CLI::App& app) {
  auto f = std::make_shared<EncodeDatasetFlags>();
  auto* cmd = app.add_subcommand(
      "encode-dataset",
      "encode an image dataset with a VAE into latent shards for elit train (dataset: latents).\n"
      "Each image is ADM centre-cropped to --resolution, encoded, and the posterior's mean and "
      "std are stored (2 x latent channels), so that training draws a fresh z each epoch as the "
      "published train.py does. Class sub-folders give the labels. Rerunning the same command "
      "resumes: complete shards are kept.\n"
      "  elit encode-dataset --vae sd-vae.safetensors --data imagenet/train --resolution 256 "
      "--out latents/");
  f->vae.add_to(*cmd, /*required=*/true);
  cmd->add_option("--data", f->data,
                  "image folder (one sub-folder per class, or images directly) or fashion-mnist")
      ->required();
  cmd->add_option("--split", f->split, "fashion-mnist: train or test")->capture_default_str();
  cmd->add_option("--resolution", f->resolution,
                  "image size after the ADM centre crop (fashion-mnist: 32 pads the 28 px images)")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "output folder of shard-NNNNN.safetensors")->required();
  cmd->add_flag("--flips", f->flips, "also encode every image mirrored (twice the examples)");
  cmd->add_option("--shard-size", f->shard_size, "examples per shard")->capture_default_str();
  cmd->add_option("--max-images", f->max_images, "encode only the first N images (0: all)")
      ->capture_default_str();
  cmd->add_option("--on-bad-image", f->on_bad_image, "an unreadable image: fail | skip")
      ->check(CLI::IsMember({"fail", "skip"}))
      ->capture_default_str();
  cmd->callback([f] { run(*f); });
}

}  // namespace elit::app
