// Peak memory and time of one SD-VAE decode (or encode) at a given size, with and without tiles,
// and the error of bfloat16 against float32:
//   elit_vae_memory --size 512 [--tile 256] [--encode] [--dtype bfloat16] [--vae FILE]
//   elit_vae_memory --size 256 --error [--vae FILE]
// Without --vae: random weights of the default (SD-VAE) configuration (memory and time do not
// depend on the values). --error decodes the same latents in float32 and bfloat16 and reports
// the max and mean absolute difference of the images in [-1, 1] and their PSNR (peak-to-peak 2).
// Prints one JSON line; peak RSS is per process, so run one measurement per process.
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "elit/io/vae_file.h"
#include "elit/models/autoencoder_kl_tiling.h"
#include "elit/runtime/timing.h"

namespace {

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

elit::models::AutoencoderKL make_vae(const std::string& path, torch::Dtype dtype) {
  if (!path.empty()) return elit::io::load_vae(path, std::nullopt, dtype);
  torch::manual_seed(0);
  elit::models::AutoencoderKL vae(elit::models::AutoencoderKLConfig{});
  vae->to(dtype);
  vae->eval();
  return vae;
}

// Latents [1, embed_dim, size / f, size / f] with unit variance, the same for every dtype.
torch::Tensor latents(const elit::models::AutoencoderKL& vae, int64_t size) {
  const auto& c = vae->config();
  const int64_t side = size / c.downsample_factor();
  return torch::randn({1, c.embed_dim, side, side}, torch::TensorOptions().dtype(torch::kFloat32));
}

int error_mode(const std::string& path, int64_t size, int64_t tile) {
  torch::NoGradGuard no_grad;
  auto f32 = make_vae(path, torch::kFloat32);
  auto bf16 = make_vae(path, torch::kBFloat16);
  torch::manual_seed(1);
  const auto z = latents(f32, size);
  const auto a = elit::models::decode_tiled(*f32, z, {tile}).clamp(-1, 1);
  const auto b = elit::models::decode_tiled(*bf16, z.to(torch::kBFloat16), {tile})
                     .to(torch::kFloat32)
                     .clamp(-1, 1);
  const auto diff = (a - b).abs();
  const double mse = diff.pow(2).mean().item<double>();
  std::printf(
      "{\"op\": \"decode\", \"size\": %lld, \"tile\": %lld, \"weights\": \"%s\", "
      "\"bf16_max_abs_error\": %.5f, \"bf16_mean_abs_error\": %.6f, \"bf16_psnr_db\": %.2f}\n",
      static_cast<long long>(size), static_cast<long long>(tile),
      path.empty() ? "random SD-VAE" : path.c_str(), diff.max().item<double>(),
      diff.mean().item<double>(), 10 * std::log10(4.0 / std::max(mse, 1e-20)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t size = 512, tile = 0;
  bool encode = false, error = false;
  std::string dtype = "float32", path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--size" && i + 1 < argc)
      size = std::stoll(argv[++i]);
    else if (a == "--tile" && i + 1 < argc)
      tile = std::stoll(argv[++i]);
    else if (a == "--dtype" && i + 1 < argc)
      dtype = argv[++i];
    else if (a == "--vae" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--encode")
      encode = true;
    else if (a == "--error")
      error = true;
    else {
      std::fprintf(stderr,
                   "usage: %s --size N [--tile N] [--encode] [--dtype float32|bfloat16] "
                   "[--vae FILE] [--error]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    if (error) return error_mode(path, size, tile);
    const auto type = dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
    auto vae = make_vae(path, type);
    const long model_kb = peak_rss_kb();
    torch::NoGradGuard no_grad;
    torch::manual_seed(1);
    const elit::Stopwatch watch;
    int64_t out_side = 0;
    if (encode) {
      const auto x = (torch::rand({1, vae->config().in_channels, size, size}) * 2 - 1).to(type);
      out_side = elit::models::encode_tiled(*vae, x, {tile}).mean.size(2);
    } else {
      out_side = elit::models::decode_tiled(*vae, latents(vae, size).to(type), {tile}).size(2);
    }
    const double seconds = watch.seconds();
    std::printf(
        "{\"op\": \"%s\", \"size\": %lld, \"tile\": %lld, \"dtype\": \"%s\", \"output_side\": "
        "%lld, \"seconds\": %.2f, \"rss_after_model_kb\": %ld, \"peak_rss_kb\": %ld}\n",
        encode ? "encode" : "decode", static_cast<long long>(size), static_cast<long long>(tile),
        dtype.c_str(), static_cast<long long>(out_side), seconds, model_kb, peak_rss_kb());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "elit_vae_memory: %s\n", e.what());
    return 1;
  }
  return 0;
}
