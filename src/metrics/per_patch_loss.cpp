#include "elit/metrics/per_patch_loss.h"

#include "elit/runtime/error.h"

namespace elit::metrics {

torch::Tensor per_patch_flow_loss(models::DiffusionModel& model, flow::PathType path,
                                  const torch::Tensor& x0, const torch::Tensor& noise,
                                  const torch::Tensor& t, const models::Condition& condition,
                                  std::optional<double> budget, int64_t patch) {
  check(x0.dim() == 4, "per-patch loss expects images [B, C, H, W], got ", x0.sizes());
  const int64_t B = x0.size(0), C = x0.size(1), H = x0.size(2), W = x0.size(3);
  check(patch >= 1 && H % patch == 0 && W % patch == 0, "patch ", patch, " does not tile ", H, "x",
        W, " images");
  const auto s = flow::flow_sample(path, x0, noise, t);
  const auto error =
      (model.forward(s.x_t, t, condition, budget).to(s.target.scalar_type()) - s.target).pow(2);
  // [B, C, H/p, p, W/p, p] -> mean over C and the two in-patch axes
  return error.view({B, C, H / patch, patch, W / patch, patch}).mean({1, 3, 5});
}

}  // namespace elit::metrics
