#include "vae_flags.h"

#include "cli_common.h"
#include "config_file.h"
#include "elit/io/vae_file.h"

namespace elit::app {

void VAEFlags::add_to(CLI::App& cmd, bool required) {
  auto* v = cmd.add_option("--vae", path,
                           "KL autoencoder (SD-VAE): ldm .ckpt/.safetensors (bare or a full Stable "
                           "Diffusion checkpoint), a diffusers folder, or an elit train-vae file");
  if (required) v->required();
  cmd.add_option("--vae-config", config,
                 "VAE configuration (JSON/YAML with ldm ddconfig keys, or diffusers config.json); "
                 "default: from the file, else inferred from its shapes")
      ->check(CLI::ExistingFile);
  cmd.add_option("--vae-tile", tile,
                 "code images in tiles of N pixels (a multiple of the VAE's factor, e.g. 256) to "
                 "bound memory; 0: whole images")
      ->capture_default_str();
  cmd.add_option("--vae-overlap", overlap, "pixels shared by neighbouring tiles (-1: tile / 4)")
      ->capture_default_str();
  cmd.add_option("--vae-batch", batch, "images coded at once")->capture_default_str();
  cmd.add_option("--vae-dtype", dtype, "float32, bfloat16 or float64")->capture_default_str();
  cmd.add_option("--vae-scale", scale_factor,
                 "latents = z * scale (0: the diffusion checkpoint's latents_scale, else the "
                 "VAE's scale_factor, 0.18215 for the SD-VAE)")
      ->capture_default_str();
}

models::AutoencoderKL VAEFlags::load() const {
  std::optional<nlohmann::json> cfg;
  if (!config.empty()) cfg = read_config_file(config);
  const auto file = io::read_vae_file(path, cfg);
  auto vae = io::build_vae(file, parse_dtype(dtype));
  const auto& c = vae->config();
  note("VAE from " + file.source + " (" + file.layout +
       " layout): " + std::to_string(c.in_channels) + " channels -> " +
       std::to_string(c.embed_dim) + " latent channels at 1/" +
       std::to_string(c.downsample_factor()) + " size, scale " + std::to_string(c.scale_factor));
  return vae;
}

models::VAECodecOptions VAEFlags::codec_options() const {
  models::VAECodecOptions o;
  o.tiling.tile = tile;
  o.tiling.overlap = overlap;
  o.batch_size = batch;
  o.scale_factor = scale_factor;
  o.dtype = parse_dtype(dtype);
  return o;
}

data::DatasetOptions image_dataset_options(const std::string& data, int64_t resolution,
                                           const std::string& on_bad_image) {
  data::DatasetOptions d;
  const bool fmnist = data == "fashion-mnist" || data == "fashion_mnist";
  d.kind = fmnist ? "fashion_mnist" : "image_folder";
  d.data_dir = fmnist ? "" : data;
  d.resolution = resolution;
  d.random_flip = 0;
  d.on_bad_image = on_bad_image;
  d.warn = [](const std::string& m) { note(m); };
  return d;
}

}  // namespace elit::app
