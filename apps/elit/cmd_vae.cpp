// elit vae encode | decode: images <-> diffusion-model latents through a KL autoencoder (the
// SD-VAE or any AutoencoderKL), tiled for large images.
#include <cmath>
#include <filesystem>

#include "cli_common.h"
#include "commands.h"
#include "config_file.h"
#include "elit/data/image_files.h"
#include "elit/io/image.h"
#include "elit/io/npz.h"
#include "elit/io/safetensors.h"
#include "elit/io/vae_file.h"
#include "elit/runtime/error.h"
#include "progress.h"
#include "sampling_flags.h"
#include "vae_flags.h"

namespace elit::app {
namespace {
namespace fs = std::filesystem;

struct VAEOptions {
  VAEFlags vae;
  std::vector<std::string> images;
  std::string latents, out;
  int64_t resolution = 0;
  bool sample = false;
  uint64_t seed = 0;
};

void encode(const VAEOptions& o) {
  start_command();
  auto vae = o.vae.load();
  const auto paths = data::collect_images(o.images);
  const auto x = data::read_images_for_model(paths, o.resolution, vae->config().in_channels);
  auto codec = o.vae.codec_options();
  Progress bar("vae encode", x.size(0), "img");
  codec.progress = [&](int64_t done, int64_t) { bar.update(done); };
  const auto mean_std = models::encode_mean_std(*vae, x, codec);  // [N, 2C, h, w]
  bar.finish();
  const int64_t c = vae->config().embed_dim;
  auto z = mean_std.narrow(1, 0, c);
  if (o.sample) {
    torch::manual_seed(o.seed);
    z = z + mean_std.narrow(1, c, c) * torch::randn_like(z);
  }
  const auto [scale, shift] = models::latent_scaling(*vae, codec);
  const auto latents = ((z - shift) * scale).contiguous();
  if (!fs::path(o.out).parent_path().empty()) fs::create_directories(fs::path(o.out).parent_path());
  io::write_npz(o.out, {{"arr_0", latents}, {"mean_std", mean_std.contiguous()}});
  note("wrote latents of " + std::to_string(paths.size()) + " images to " + o.out +
       " (arr_0: (z - shift) * scale, float32 NCHW " + c10::str(latents.sizes()) +
       "; mean_std: the posterior in VAE units)");
}

torch::Tensor read_latents(const std::string& path) {
  if (fs::path(path).extension() == ".safetensors") {
    auto t = io::read_safetensors(path).tensors;
    check(t.count("latents"), "'", path, "' has no 'latents' tensor");
    return t.at("latents");
  }
  const auto names = io::npz_names(path);
  const bool named = std::count(names.begin(), names.end(), "latents") > 0;
  return io::read_npz_array(path, named ? "latents" : "arr_0");
}

void decode(const VAEOptions& o) {
  start_command();
  auto vae = o.vae.load();
  const auto latents = read_latents(o.latents).to(torch::kFloat32);
  check(latents.dim() == 4, "'", o.latents, "': expected latents [N, C, h, w], got ",
        latents.sizes());
  auto codec = o.vae.codec_options();
  Progress bar("vae decode", latents.size(0), "img");
  codec.progress = [&](int64_t done, int64_t) { bar.update(done); };
  const auto images = io::to_uint8_images(models::decode_latents(*vae, latents, codec));
  bar.finish();
  const auto columns =
      static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(images.size(0)))));
  const auto grid = write_image_set(o.out, images, columns, /*individual_pngs=*/true);
  note("wrote " + std::to_string(images.size(0)) + " images to " + o.out + "/images, grid " + grid +
       ", " + o.out + "/samples.npz");
}

// A VAE with fresh random weights (ldm's initialisation is torch's default), for measuring memory
// and speed without a published file.
void init(const VAEOptions& o) {
  start_command();
  models::AutoencoderKLConfig config;
  if (!o.vae.config.empty()) {
    const auto j = read_config_file(o.vae.config);
    config = models::is_diffusers_vae_config(j) ? models::autoencoder_kl_config_from_diffusers(j)
                                                : models::autoencoder_kl_config_from_json(j);
  }
  torch::manual_seed(o.seed);
  models::AutoencoderKL vae(config);
  io::write_vae_file(o.out, *vae);
  note("wrote a randomly initialised VAE to " + o.out);
}

}  // namespace

void add_vae_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "vae",
      "images <-> latents with a KL autoencoder (the SD-VAE of latent diffusion, or one from "
      "elit train-vae).\n"
      "  elit vae encode --vae sd-vae.safetensors --images photos/ --resolution 256 --out z.npz\n"
      "  elit vae decode --vae sd-vae.safetensors --latents z.npz --out decoded/\n"
      "Latents are in diffusion-model units, (z - shift) * scale (0.18215 for the SD-VAE), as "
      "elit sample writes them for latent models.");
  cmd->require_subcommand(1);
  auto o = std::make_shared<VAEOptions>();
  auto* enc = cmd->add_subcommand("encode", "images -> latents (.npz: arr_0 latents, mean_std)");
  o->vae.add_to(*enc, /*required=*/true);
  enc->add_option("--images", o->images, "image files and/or folders (searched recursively)")
      ->required();
  enc->add_option("--resolution", o->resolution,
                  "ADM centre crop to N x N (0: keep the size; all images must then match)")
      ->capture_default_str();
  enc->add_flag("--sample", o->sample, "draw z from the posterior (default: its mean)");
  enc->add_option("--seed", o->seed, "seed of --sample")->capture_default_str();
  enc->add_option("--out", o->out, "output .npz")->required();
  enc->callback([o] { encode(*o); });
  auto* dec = cmd->add_subcommand("decode", "latents -> PNG images, grid.png and samples.npz");
  o->vae.add_to(*dec, /*required=*/true);
  dec->add_option("--latents", o->latents,
                  ".npz (arr_0 or 'latents', e.g. elit sample's latents.npz) or .safetensors "
                  "('latents'), [N, C, h, w] in diffusion-model units")
      ->required()
      ->check(CLI::ExistingFile);
  dec->add_option("--out", o->out, "output folder")->required();
  dec->callback([o] { decode(*o); });
  auto* ini = cmd->add_subcommand(
      "init", "a VAE with random weights (default: the SD-VAE's architecture), for measurements");
  ini->add_option("--vae-config", o->vae.config, "configuration (ldm or diffusers keys)")
      ->check(CLI::ExistingFile);
  ini->add_option("--seed", o->seed, "random seed")->capture_default_str();
  ini->add_option("--out", o->out, "output .safetensors")->required();
  ini->callback([o] { init(*o); });
}

}  // namespace elit::app
