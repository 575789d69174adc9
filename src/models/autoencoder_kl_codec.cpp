#include "elit/models/autoencoder_kl_codec.h"

#include "elit/runtime/error.h"

namespace elit::models {
namespace {

// Runs `code` on batches of `x` along dim 0 and concatenates the float32 results.
torch::Tensor batched(const torch::Tensor& x, const VAECodecOptions& o,
                      const std::function<torch::Tensor(const torch::Tensor&)>& code) {
  check(o.batch_size > 0, "VAE batch size must be > 0, got ", o.batch_size);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  const int64_t n = x.size(0);
  for (int64_t start = 0; start < n; start += o.batch_size) {
    const auto chunk = x.narrow(0, start, std::min(o.batch_size, n - start)).to(o.dtype);
    parts.push_back(code(chunk).to(torch::kFloat32));
    if (o.progress) o.progress(start + chunk.size(0), n);
  }
  return torch::cat(parts, 0);
}

}  // namespace

std::pair<double, double> latent_scaling(const AutoencoderKLImpl& vae, const VAECodecOptions& o) {
  if (o.scale_factor > 0) return {o.scale_factor, o.shift_factor};
  return {vae.config().scale_factor, vae.config().shift_factor};
}

torch::Tensor decode_latents(AutoencoderKLImpl& vae, const torch::Tensor& latents,
                             const VAECodecOptions& o) {
  check(latents.dim() == 4 && latents.size(1) == vae.config().embed_dim,
        "VAE decode: expected latents [N, ", vae.config().embed_dim, ", h, w], got ",
        latents.sizes());
  const auto scaling = latent_scaling(vae, o);
  const double scale = scaling.first, shift = scaling.second;
  return batched(latents, o, [&](const torch::Tensor& z) {
    return decode_tiled(vae, z / scale + shift, o.tiling).clamp(-1.0, 1.0);  // [B, C, H, W]
  });
}

torch::Tensor encode_mean_std(AutoencoderKLImpl& vae, const torch::Tensor& images,
                              const VAECodecOptions& o) {
  return batched(images, o, [&](const torch::Tensor& x) {
    const auto p = encode_tiled(vae, x, o.tiling);
    return torch::cat({p.mean, p.std()}, 1);  // [B, 2 embed_dim, h, w]
  });
}

}  // namespace elit::models
