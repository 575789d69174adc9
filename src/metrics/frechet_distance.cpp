#include "elit/metrics/frechet_distance.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

// LAPACK's eigensolvers on small matrices make many tiny BLAS calls; with OpenMP threads each of
// them synchronises, which on a loaded 2-core machine took 0.6 s for a 32x32 eigh against 0.2 ms
// on one thread. Small problems therefore run single-threaded (the thread count is global: the
// guard restores it).
class SmallProblemThreads {
 public:
  explicit SmallProblemThreads(int64_t dim) : saved_(at::get_num_threads()) {
    if (dim <= 256 && saved_ > 1) at::set_num_threads(1);
  }
  ~SmallProblemThreads() {
    if (at::get_num_threads() != saved_) at::set_num_threads(saved_);
  }

 private:
  int saved_;
};

// Symmetric PSD square root through eigh; tiny negative eigenvalues (round-off) become 0.
torch::Tensor psd_sqrt(const torch::Tensor& s) {
  auto [values, vectors] = torch::linalg::eigh(s, "L");
  return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).mm(vectors.t());
}

// Square roots of the eigenvalues of S1^1/2 S2 S1^1/2 (= of S1 S2), as the singular values of
// S1^1/2 S2^1/2: (S1^1/2 S2^1/2)(S1^1/2 S2^1/2)^T = S1^1/2 S2 S1^1/2. Taking the square root of
// eigenvalues would turn round-off in the null space of a rank-deficient product (N < D) into
// errors of sqrt(eps); singular values keep them at eps.
torch::Tensor sqrt_product_eigenvalues(const torch::Tensor& sigma1, const torch::Tensor& sigma2) {
  SmallProblemThreads threads(sigma1.size(0));
  return torch::linalg::svdvals(psd_sqrt(sigma1).mm(psd_sqrt(sigma2)), /*driver=*/c10::nullopt);
}

torch::Tensor as_matrix(const torch::Tensor& sigma) {
  return sigma.dim() == 0 ? sigma.reshape({1, 1}) : sigma;
}

}  // namespace

double trace_sqrt_product(const torch::Tensor& sigma1, const torch::Tensor& sigma2) {
  return sqrt_product_eigenvalues(sigma1.to(torch::kFloat64), sigma2.to(torch::kFloat64))
      .sum()
      .item<double>();
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
  auto roots = o.force_offset ? sqrt_product_eigenvalues(s1 + offset, s2 + offset)
                              : sqrt_product_eigenvalues(s1, s2);
  if (o.eps > 0 && !o.force_offset && !torch::isfinite(roots).all().item<bool>()) {
    roots = sqrt_product_eigenvalues(s1 + offset, s2 + offset);  // ADM's retry
  }
  const double tr_covmean = roots.sum().item<double>();
  const auto diff = mu1 - mu2;
  return diff.dot(diff).item<double>() + s1.trace().item<double>() + s2.trace().item<double>() -
         2.0 * tr_covmean;
}

}  // namespace elit::metrics
