// Peak memory and time of one SD-VAE decode (and encode) at a given size, with and without tiles:
//   elit_vae_memory --size 512 [--tile 256] [--encode] [--dtype bfloat16]
// Random weights of the default (SD-VAE) configuration: memory and time do not depend on the
// values. Prints one JSON line; run under /usr/bin/time -v for the process's peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "elit/models/autoencoder_kl_tiling.h"

namespace {

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t size = 512, tile = 0;
  bool encode = false;
  std::string dtype = "float32";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--size" && i + 1 < argc)
      size = std::stoll(argv[++i]);
    else if (a == "--tile" && i + 1 < argc)
      tile = std::stoll(argv[++i]);
    else if (a == "--dtype" && i + 1 < argc)
      dtype = argv[++i];
    else if (a == "--encode")
      encode = true;
    else {
      std::fprintf(stderr, "usage: %s --size N [--tile N] [--encode] [--dtype float32|bfloat16]\n",
                   argv[0]);
      return 2;
    }
  }
  torch::manual_seed(0);
  elit::models::AutoencoderKL vae(elit::models::AutoencoderKLConfig{});
  const auto type = dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  vae->to(type);
  vae->eval();
  const long model_kb = peak_rss_kb();
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  int64_t out_side = 0;
  if (encode) {
    const auto x = (torch::rand({1, 3, size, size}) * 2 - 1).to(type);
    out_side = elit::models::encode_tiled(*vae, x, {tile}).mean.size(2);
  } else {
    const auto z = torch::randn({1, 4, size / 8, size / 8}).to(type);
    out_side = elit::models::decode_tiled(*vae, z, {tile}).size(2);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"op\": \"%s\", \"size\": %lld, \"tile\": %lld, \"dtype\": \"%s\", \"output_side\": %lld, "
      "\"seconds\": %.2f, \"rss_after_model_kb\": %ld, \"peak_rss_kb\": %ld}\n",
      encode ? "encode" : "decode", static_cast<long long>(size), static_cast<long long>(tile),
      dtype.c_str(), static_cast<long long>(out_side), seconds, model_kb, peak_rss_kb());
  return 0;
}
