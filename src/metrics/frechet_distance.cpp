#include "elit/metrics/frechet_distance.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

// Symmetric PSD square root through eigh; tiny negative eigenvalues (round-off) become 0.
torch::Tensor psd_sqrt(const torch::Tensor& s) {
  auto [values, vectors] = torch::linalg::eigh(s, "L");
  return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).mm(vectors.t());
}

// Eigenvalues of S1^1/2 S2 S1^1/2, whose square roots sum to tr sqrt(S1 S2).
torch::Tensor product_eigenvalues(const torch::Tensor& sigma1, const torch::Tensor& sigma2) {
  const auto root = psd_sqrt(sigma1);
  auto m = root.mm(sigma2).mm(root);
  m = (m + m.t()) * 0.5;  // symmetric up to round-off; eigvalsh must see it exactly symmetric
  return torch::linalg::eigvalsh(m, "L");
}

// An eigenvalue "clearly negative": beyond what float64 round-off of a PSD matrix can produce.
bool numerically_singular(const torch::Tensor& eigenvalues) {
  if (!torch::isfinite(eigenvalues).all().item<bool>()) return true;
  const double largest = eigenvalues.abs().max().item<double>();
  const double smallest = eigenvalues.min().item<double>();
  return smallest < -1e-8 * std::max(largest, 1e-300) * eigenvalues.size(0);
}

torch::Tensor as_matrix(const torch::Tensor& sigma) {
  return sigma.dim() == 0 ? sigma.reshape({1, 1}) : sigma;
}

}  // namespace

double trace_sqrt_product(const torch::Tensor& sigma1, const torch::Tensor& sigma2) {
  const auto ev = product_eigenvalues(sigma1.to(torch::kFloat64), sigma2.to(torch::kFloat64));
  return ev.clamp_min(0).sqrt().sum().item<double>();
}

double frechet_distance(const Statistics& a, const Statistics& b, const FrechetOptions& o) {
  const auto mu1 = a.mu.to(torch::kCPU, torch::kFloat64).reshape(-1);
  const auto mu2 = b.mu.to(torch::kCPU, torch::kFloat64).reshape(-1);
  const auto s1 = as_matrix(a.sigma.to(torch::kCPU, torch::kFloat64));
  const auto s2 = as_matrix(b.sigma.to(torch::kCPU, torch::kFloat64));
  check(mu1.size(0) == mu2.size(0), "feature size mismatch: statistics of ", mu1.size(0), "-d and ",
        mu2.size(0), "-d features cannot be compared (same feature network?)");
  const int64_t d = mu1.size(0);
  for (const auto& s : {s1, s2}) {
    check(s.dim() == 2 && s.size(0) == d && s.size(1) == d, "covariance of shape ", s.sizes(),
          " does not match the ", d, "-d mean (expected [", d, ", ", d, "])");
  }
  check(torch::isfinite(s1).all().item<bool>() && torch::isfinite(s2).all().item<bool>() &&
            torch::isfinite(mu1).all().item<bool>() && torch::isfinite(mu2).all().item<bool>(),
        "feature statistics contain NaN or infinity");
  // As in ADM, the offset only enters the square-root term; the traces use the covariances.
  const auto offset = torch::eye(d, torch::kFloat64) * o.eps;
  auto ev =
      o.force_offset ? product_eigenvalues(s1 + offset, s2 + offset) : product_eigenvalues(s1, s2);
  if (o.eps > 0 && !o.force_offset && numerically_singular(ev)) {
    ev = product_eigenvalues(s1 + offset, s2 + offset);  // ADM's retry
  }
  const double tr_covmean = ev.clamp_min(0).sqrt().sum().item<double>();
  const auto diff = mu1 - mu2;
  return diff.dot(diff).item<double>() + s1.trace().item<double>() + s2.trace().item<double>() -
         2.0 * tr_covmean;
}

}  // namespace elit::metrics
