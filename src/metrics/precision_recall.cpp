#include "elit/metrics/precision_recall.h"

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

void check_features(const torch::Tensor& f, const char* what) {
  check(f.dim() == 2 && f.size(1) > 0, what, " features must be [N, D], got shape ", f.sizes());
  check(torch::isfinite(f).all().item<bool>(), what, " features contain NaN or infinity");
}

int64_t blocks(int64_t n, int64_t size) {
  return (n + size - 1) / size;
}

}  // namespace

torch::Tensor squared_distances(const torch::Tensor& u, const torch::Tensor& v) {
  const auto nu = u.square().sum(1, /*keepdim=*/true);  // [R, 1]
  const auto nv = v.square().sum(1).unsqueeze(0);       // [1, C]
  return (nu - 2.0 * u.mm(v.t()) + nv).clamp_min(0.0);  // [R, C]
}

torch::Tensor manifold_radii(const torch::Tensor& features, const ManifoldOptions& o,
                             const ProgressCallback& progress) {
  check_features(features, "manifold");
  check(o.k >= 1 && o.row_batch > 0 && o.col_batch > 0,
        "precision/recall needs k >= 1 and positive batch sizes");
  const int64_t n = features.size(0);
  check(n >= o.k + 1, "precision/recall with k = ", o.k, " needs at least ", o.k + 1,
        " samples per set, got ", n);
  const auto f = features.to(o.device, o.dtype);
  auto radii = torch::empty({n}, f.options());
  const int64_t total = blocks(n, o.row_batch) * blocks(n, o.col_batch);
  int64_t done = 0;
  for (int64_t r = 0; r < n; r += o.row_batch) {
    const auto rows = f.slice(0, r, std::min(r + o.row_batch, n));
    // The k+1 smallest distances seen so far per row, merged block by block (bounded memory).
    auto nearest = torch::empty({rows.size(0), 0}, f.options());
    for (int64_t c = 0; c < n; c += o.col_batch) {
      const auto d = squared_distances(rows, f.slice(0, c, std::min(c + o.col_batch, n)));
      const auto candidates = torch::cat({nearest, d}, 1);
      nearest = std::get<0>(candidates.topk(std::min(o.k + 1, candidates.size(1)), 1,
                                            /*largest=*/false, /*sorted=*/true));
      if (progress) progress(++done, total);
    }
    radii.slice(0, r, r + rows.size(0)).copy_(nearest.select(1, o.k));
  }
  return radii;
}

PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake,
                                 const ManifoldOptions& o, const ProgressCallback& progress) {
  check_features(real, "reference");
  check_features(fake, "sample");
  check(real.size(1) == fake.size(1), "feature size mismatch: reference features are ",
        real.size(1), "-d, sample features ", fake.size(1), "-d");
  const int64_t n1 = real.size(0), n2 = fake.size(0);
  // Work units: the two radius passes and the cross pass, in distance blocks.
  const int64_t w1 = blocks(n1, o.row_batch) * blocks(n1, o.col_batch);
  const int64_t w2 = blocks(n2, o.row_batch) * blocks(n2, o.col_batch);
  const int64_t w3 = blocks(n1, o.row_batch) * blocks(n2, o.col_batch);
  const int64_t total = w1 + w2 + w3;
  auto offset_progress = [&](int64_t base) -> ProgressCallback {
    if (!progress) return {};
    return [&progress, base, total](int64_t done, int64_t) { progress(base + done, total); };
  };
  const auto radii1 = manifold_radii(real, o, offset_progress(0));
  const auto radii2 = manifold_radii(fake, o, offset_progress(w1));
  const auto f1 = real.to(o.device, o.dtype), f2 = fake.to(o.device, o.dtype);
  auto real_in = torch::zeros({n1}, f1.options().dtype(torch::kBool));
  auto fake_in = torch::zeros({n2}, f1.options().dtype(torch::kBool));
  int64_t done = w1 + w2;
  for (int64_t r = 0; r < n1; r += o.row_batch) {
    const int64_t r_end = std::min(r + o.row_batch, n1);
    for (int64_t c = 0; c < n2; c += o.col_batch) {
      const int64_t c_end = std::min(c + o.col_batch, n2);
      const auto d = squared_distances(f1.slice(0, r, r_end), f2.slice(0, c, c_end));
      // A point is covered when it lies inside (<=) any ball of the other set.
      real_in.slice(0, r, r_end) |= (d <= radii2.slice(0, c, c_end).unsqueeze(0)).any(1);
      fake_in.slice(0, c, c_end) |= (d <= radii1.slice(0, r, r_end).unsqueeze(1)).any(0);
      if (progress) progress(++done, total);
    }
  }
  PrecisionRecall pr;
  pr.precision = fake_in.to(torch::kFloat64).mean().item<double>();
  pr.recall = real_in.to(torch::kFloat64).mean().item<double>();
  return pr;
}

}  // namespace elit::metrics
