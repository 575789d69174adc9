#include "elit/metrics/kid.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

// Sum of the cubic kernel over all pairs (a_i, b_j), blockwise; minus the diagonal when a == b.
double kernel_sum(const torch::Tensor& a, const torch::Tensor& b, bool same, int64_t block) {
  const double inv_d = 1.0 / static_cast<double>(a.size(1));
  double total = 0;
  for (int64_t r = 0; r < a.size(0); r += block) {
    const auto rows = a.slice(0, r, std::min(r + block, a.size(0)));
    for (int64_t c = 0; c < b.size(0); c += block) {
      const auto k =
          (rows.mm(b.slice(0, c, std::min(c + block, b.size(0))).t()) * inv_d + 1.0).pow(3);
      total += k.sum().item<double>();
    }
  }
  if (same) total -= (a.square().sum(1) * inv_d + 1.0).pow(3).sum().item<double>();
  return total;
}

void check_features(const torch::Tensor& f, const char* what) {
  check(f.dim() == 2 && f.size(0) >= 2 && f.size(1) > 0, "KID needs ", what,
        " features [N, D] with N >= 2, got shape ", f.sizes());
}

}  // namespace

double mmd2_unbiased(const torch::Tensor& x, const torch::Tensor& y, int64_t block) {
  check_features(x, "reference");
  check_features(y, "sample");
  check(x.size(1) == y.size(1), "feature size mismatch: reference features are ", x.size(1),
        "-d, sample features ", y.size(1), "-d");
  check(block > 0, "KID block size must be positive");
  const auto a = x.detach().to(torch::kFloat64), b = y.detach().to(torch::kFloat64);
  const double m = static_cast<double>(a.size(0)), n = static_cast<double>(b.size(0));
  return kernel_sum(a, a, true, block) / (m * (m - 1)) +
         kernel_sum(b, b, true, block) / (n * (n - 1)) -
         2.0 * kernel_sum(a, b, false, block) / (m * n);
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake,
                                    const KidOptions& o, const ProgressCallback& progress) {
  KidResult r;
  if (o.subsets <= 0) {
    r.value = mmd2_unbiased(real, fake, o.block);
    r.subset_size = std::min(real.size(0), fake.size(0));
    if (progress) progress(1, 1);
    return r;
  }
  check_features(real, "reference");
  check_features(fake, "sample");
  check(o.subset_size >= 2 && o.subset_size <= std::min(real.size(0), fake.size(0)),
        "KID subset size ", o.subset_size, " must be in [2, min(reference ", real.size(0),
        ", samples ", fake.size(0), ")]");
  auto gen = at::detail::createCPUGenerator(o.seed);
  std::vector<double> values;
  for (int64_t s = 0; s < o.subsets; ++s) {
    const auto i = torch::randperm(real.size(0), gen, torch::kLong).slice(0, 0, o.subset_size);
    const auto j = torch::randperm(fake.size(0), gen, torch::kLong).slice(0, 0, o.subset_size);
    values.push_back(mmd2_unbiased(real.index_select(0, i.to(real.device())),
                                   fake.index_select(0, j.to(fake.device())), o.block));
    if (progress) progress(s + 1, o.subsets);
  }
  const auto t = torch::tensor(values, torch::kFloat64);
  r.value = t.mean().item<double>();
  r.std = t.std(/*unbiased=*/false).item<double>();  // np.std, as torch-fidelity reports it
  r.subsets = o.subsets;
  r.subset_size = o.subset_size;
  return r;
}

}  // namespace elit::metrics
