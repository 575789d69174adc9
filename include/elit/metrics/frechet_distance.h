// Fréchet distance between two Gaussians fitted to features (FID with Inception features, FDD with
// DINOv2 features, "FD" with the project's Fashion-MNIST classifier), ADM's definition:
//   |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2).
#pragma once
#include "elit/metrics/statistics.h"

namespace elit::metrics {

struct FrechetOptions {
  // ADM's retry: when the square root comes out non-finite, add eps * I to both covariances and
  // compute again. 0 disables the retry.
  double eps = 1e-6;
  // Always add eps * I to both covariances (the retry's regularisation, forced).
  bool force_offset = false;
};

// Computed in float64 through symmetric eigendecompositions, which is stable where a general
// matrix square root is not: tr sqrt(S1 S2) = sum_i sqrt(lambda_i(S1^1/2 S2 S1^1/2)), because
// S1 S2 and S1^1/2 S2 S1^1/2 are similar; those square roots are taken as the singular values of
// S1^1/2 S2^1/2. Identical statistics give ~0 (round-off only), also when N < D.
// Throws elit::Error when the sizes of the two sets of statistics differ.
double frechet_distance(const Statistics& a, const Statistics& b, const FrechetOptions& o = {});

// tr sqrt(S1 S2) for symmetric positive semi-definite S1, S2 (float64).
double trace_sqrt_product(const torch::Tensor& sigma1, const torch::Tensor& sigma2);

}  // namespace elit::metrics
