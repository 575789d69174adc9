#include "elit/train/vae_training.h"

#include <torch/optim/adam.h>

#include <cmath>

#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"

namespace elit::train {

torch::Tensor dataset_images(const data::Dataset& data, int64_t begin, int64_t count) {
  std::vector<torch::Tensor> xs;
  for (int64_t i = begin; i < begin + count; ++i) xs.push_back(data.get(i, /*seed=*/i).x);
  return torch::stack(xs);  // [count, C, H, W]
}

VAETrainResult train_vae(models::AutoencoderKLImpl& vae, const data::Dataset& data,
                         const VAETrainOptions& o,
                         const std::function<void(const VAETrainStep&)>& on_step) {
  check(o.loss == "l1" || o.loss == "l2", "VAE loss must be l1 or l2, got '", o.loss, "'");
  check(o.batch_size > 0 && o.steps > 0, "VAE training needs batch_size and steps > 0");
  const int64_t trainable = data.size() - o.holdout;
  check(trainable > 0, "VAE training: holdout ", o.holdout, " leaves no examples of ", data.size());
  torch::manual_seed(o.seed);
  vae.train();
  torch::optim::Adam opt(vae.parameters(), torch::optim::AdamOptions(o.learning_rate));
  const Stopwatch watch;
  VAETrainResult r;
  for (int64_t step = 1; step <= o.steps; ++step) {
    const auto idx = torch::randint(trainable, {o.batch_size}, torch::kInt64);
    std::vector<torch::Tensor> xs;
    for (int64_t i = 0; i < o.batch_size; ++i) {
      const int64_t k = idx[i].item<int64_t>();
      xs.push_back(data.get(k, data::example_seed(o.seed, step, k)).x);
    }
    const auto x = torch::stack(xs);  // [B, C, H, W]
    const auto posterior = vae.encode(x);
    const auto recon = vae.decode(posterior.sample(torch::randn_like(posterior.mean)));
    const auto diff = recon - x;
    const auto rec = o.loss == "l1" ? diff.abs().mean() : diff.pow(2).mean();
    const auto kl = posterior.kl().mean() / static_cast<double>(x[0].numel());
    const auto loss = rec + o.kl_weight * kl;
    opt.zero_grad();
    loss.backward();
    opt.step();
    r.steps = step;
    r.last_loss = loss.item<double>();
    r.seconds = watch.seconds();
    if (on_step) on_step({step, r.last_loss, rec.item<double>(), kl.item<double>(), r.seconds});
    if (o.max_minutes > 0 && r.seconds > 60.0 * o.max_minutes) break;
  }
  vae.eval();
  return r;
}

double reconstruction_psnr(models::AutoencoderKLImpl& vae, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const auto recon = vae.decode(vae.encode(images).mean).clamp(-1, 1);
  const double mse = (recon - images).pow(2).mean().item<double>();
  return 10.0 * std::log10(4.0 / std::max(mse, 1e-12));  // peak-to-peak 2 -> peak^2 = 4
}

double fitted_scale_factor(models::AutoencoderKLImpl& vae, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return 1.0 / vae.encode(images).mean.std().item<double>();
}

}  // namespace elit::train
