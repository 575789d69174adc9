#include "elit/metrics/reference_batch.h"

#include "elit/io/npz.h"
#include "elit/metrics/feature_network.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

void check_covariance(const torch::Tensor& sigma, const std::string& what);

std::optional<Statistics> read_stats(std::map<std::string, torch::Tensor>& arrays,
                                     const std::string& mu_key, const std::string& sigma_key,
                                     int64_t count, const std::string& path) {
  const bool has_mu = arrays.count(mu_key) > 0, has_sigma = arrays.count(sigma_key) > 0;
  if (!has_mu && !has_sigma) return std::nullopt;
  check(has_mu && has_sigma, "reference batch '", path, "' has '", has_mu ? mu_key : sigma_key,
        "' without '", has_mu ? sigma_key : mu_key, "'");
  const auto& mu = arrays.at(mu_key);
  const auto& sigma = arrays.at(sigma_key);
  for (const auto* t : {&mu, &sigma}) {
    check(c10::isFloatingType(t->scalar_type()), "reference batch '", path, "': '",
          t == &mu ? mu_key : sigma_key, "' must be floating point, got ",
          c10::toString(t->scalar_type()));
  }
  check(mu.dim() == 1, "reference batch '", path, "': '", mu_key, "' must be 1-D, got shape ",
        mu.sizes());
  const int64_t d = mu.size(0);
  check(sigma.dim() == 2 && sigma.size(0) == d && sigma.size(1) == d, "reference batch '", path,
        "': '", sigma_key, "' has shape ", sigma.sizes(), ", expected [", d, ", ", d,
        "] to match '", mu_key, "'");
  const auto mu64 = mu.to(torch::kFloat64), sigma64 = sigma.to(torch::kFloat64);
  check(torch::isfinite(mu64).all().item<bool>() && torch::isfinite(sigma64).all().item<bool>(),
        "reference batch '", path, "': '", mu_key, "' or '", sigma_key,
        "' contains NaN or infinity");
  check_covariance(sigma64, path + "': '" + sigma_key);
  return Statistics{mu64, sigma64, count};
}

// A covariance is symmetric positive semi-definite; anything else makes the Frechet distance
// meaningless (a negative "distance"). Round-off allows eigenvalues slightly below zero.
void check_covariance(const torch::Tensor& sigma, const std::string& what) {
  if (sigma.numel() == 0) return;
  const double scale = std::max(sigma.abs().max().item<double>(), 1e-300);
  const double asym = (sigma - sigma.t()).abs().max().item<double>();
  check(asym <= 1e-6 * scale, "reference batch '", what,
        "' is not symmetric (largest |s_ij - s_ji| ", asym, ")");
  const double lowest = torch::linalg::eigvalsh(sigma, "L").min().item<double>();
  check(lowest >= -1e-6 * scale * sigma.size(0), "reference batch '", what,
        "' is not positive semi-definite (an eigenvalue of ", lowest, "): not a covariance matrix");
}

}  // namespace

torch::Tensor fit_images(const torch::Tensor& images, int64_t size) {
  auto x = as_nhwc_images(images, "dataset images");  // [N, H, W, C]
  const int64_t h = x.size(1), w = x.size(2);
  if (size <= 0 || (size == h && size == w)) return x;
  if (size >= h && size >= w) {
    const int64_t top = (size - h) / 2, left = (size - w) / 2;
    auto canvas = torch::zeros({x.size(0), size, size, x.size(3)}, torch::kUInt8);
    canvas.slice(1, top, top + h).slice(2, left, left + w).copy_(x);
    return canvas;
  }
  auto f = torch::upsample_bilinear2d(x.permute({0, 3, 1, 2}).to(torch::kFloat32), {size, size},
                                      /*align_corners=*/false);
  return f.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

torch::Tensor text_array(const std::string& text) {
  auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), text.data(), text.size());
  return t;
}

std::string array_text(const torch::Tensor& bytes) {
  const auto t = bytes.to(torch::kUInt8).contiguous().reshape(-1);
  return std::string(static_cast<const char*>(t.data_ptr()), t.numel());
}

ReferenceBatch read_reference_batch(const std::string& path) {
  auto arrays = io::read_npz(path);
  ReferenceBatch b;
  int64_t count = 0;
  if (arrays.count("count")) {
    const auto& c = arrays.at("count");
    check(c.numel() == 1 && !c10::isFloatingType(c.scalar_type()), "reference batch '", path,
          "': 'count' must be one integer, got ", c10::toString(c.scalar_type()), " ", c.sizes());
    count = c.to(torch::kInt64).reshape(-1)[0].item<int64_t>();
    check(count >= 0, "reference batch '", path, "': 'count' must be >= 0, got ", count);
  }
  if (arrays.count("arr_0")) b.images = as_nhwc_images(arrays.at("arr_0"), path + ": arr_0");
  b.stats = read_stats(arrays, "mu", "sigma", count, path);
  b.spatial_stats = read_stats(arrays, "mu_s", "sigma_s", count, path);
  if (arrays.count("feature_network")) b.feature_network = array_text(arrays.at("feature_network"));
  if (arrays.count("dataset")) b.dataset = array_text(arrays.at("dataset"));
  check(b.images.defined() || b.stats, "reference batch '", path,
        "' holds neither images (arr_0) nor statistics (mu, sigma)");
  return b;
}

void write_reference_batch(const std::string& path, const ReferenceBatch& b) {
  std::map<std::string, torch::Tensor> arrays;
  if (b.images.defined()) arrays["arr_0"] = as_nhwc_images(b.images, path + ": arr_0");
  if (b.stats) {
    arrays["mu"] = b.stats->mu.to(torch::kFloat64);
    arrays["sigma"] = b.stats->sigma.to(torch::kFloat64);
    arrays["count"] = torch::tensor(b.stats->count, torch::kInt64).reshape({});
  }
  if (b.spatial_stats) {
    arrays["mu_s"] = b.spatial_stats->mu.to(torch::kFloat64);
    arrays["sigma_s"] = b.spatial_stats->sigma.to(torch::kFloat64);
  }
  if (!b.feature_network.empty()) arrays["feature_network"] = text_array(b.feature_network);
  if (!b.dataset.empty()) arrays["dataset"] = text_array(b.dataset);
  check(!arrays.empty(), "refusing to write an empty reference batch to '", path, "'");
  io::write_npz(path, arrays);
}

}  // namespace elit::metrics
