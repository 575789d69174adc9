#include "elit/models/autoencoder_kl_tiling.h"

#include "elit/runtime/error.h"

namespace elit::models {
namespace {

// Blend weights along one side of an output tile of `n` values: 1 inside, a linear ramp over
// the `ramp` values that overlap a neighbour before (`ramp_in`) or after (`ramp_out`). [n]
torch::Tensor ramp_weights(int64_t n, int64_t ramp, bool ramp_in, bool ramp_out,
                           torch::TensorOptions options) {
  auto w = torch::ones({n}, options);
  if (ramp <= 0) return w;
  // (i + 0.5) / ramp keeps every weight positive, so the blend never divides by zero.
  auto rise = (torch::arange(ramp, options) + 0.5) / static_cast<double>(ramp);
  if (ramp_in) w.narrow(0, 0, ramp).mul_(rise);
  if (ramp_out) w.narrow(0, n - ramp, ramp).mul_(rise.flip(0));
  return w;
}

}  // namespace

torch::Tensor run_tiled(const torch::Tensor& x, const TileGeometry& g,
                        const std::function<torch::Tensor(const torch::Tensor&)>& code) {
  const auto ys = tile_starts(x.size(2), g.in_tile, g.in_overlap, g.align);
  const auto xs = tile_starts(x.size(3), g.in_tile, g.in_overlap, g.align);
  torch::Tensor out, weight;
  const int64_t ramp = g.in_overlap * g.num / g.den;
  for (size_t r = 0; r < ys.size(); ++r) {
    for (size_t c = 0; c < xs.size(); ++c) {
      const int64_t th = std::min(g.in_tile, x.size(2)), tw = std::min(g.in_tile, x.size(3));
      const auto y = code(x.narrow(2, ys[r], th).narrow(3, xs[c], tw));  // [B, C', th', tw']
      if (!out.defined()) {
        out = torch::zeros(
            {y.size(0), y.size(1), x.size(2) * g.num / g.den, x.size(3) * g.num / g.den},
            y.options());
        weight = torch::zeros({1, 1, out.size(2), out.size(3)}, y.options());
      }
      const auto wy = ramp_weights(y.size(2), ramp, r > 0, r + 1 < ys.size(), y.options());
      const auto wx = ramp_weights(y.size(3), ramp, c > 0, c + 1 < xs.size(), y.options());
      const auto w = wy.view({1, 1, -1, 1}) * wx.view({1, 1, 1, -1});  // [1, 1, th', tw']
      const int64_t oy = ys[r] * g.num / g.den, ox = xs[c] * g.num / g.den;
      out.narrow(2, oy, y.size(2)).narrow(3, ox, y.size(3)).add_(y * w);
      weight.narrow(2, oy, y.size(2)).narrow(3, ox, y.size(3)).add_(w);
    }
  }
  return out / weight;
}

namespace {

int64_t overlap_of(const VAETiling& t, int64_t f) {
  const int64_t o = t.overlap < 0 ? t.tile / 4 : t.overlap;
  return o / f * f;  // whole latents
}

void check_tiling(const VAETiling& t, int64_t f) {
  check(t.tile >= f && t.tile % f == 0, "VAE tile size ", t.tile,
        " must be a positive multiple of the downsample factor ", f);
  check(overlap_of(t, f) < t.tile, "VAE tile overlap ", t.overlap, " must be below the tile size ",
        t.tile);
}

}  // namespace

std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap, int64_t align) {
  if (tile >= length) return {0};
  const int64_t stride = std::max<int64_t>(align, (tile - overlap) / align * align);
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + tile < length; s += stride) starts.push_back(s);
  starts.push_back((length - tile) / align * align);  // flush with the end (aligned)
  return starts;
}

torch::Tensor decode_tiled(AutoencoderKLImpl& vae, const torch::Tensor& z, const VAETiling& t) {
  if (!t.enabled()) return vae.decode(z);
  const int64_t f = vae.config().downsample_factor();
  check_tiling(t, f);
  const TileGeometry g{t.tile / f, overlap_of(t, f) / f, 1, f, 1};
  return run_tiled(z, g, [&](const torch::Tensor& tile) { return vae.decode(tile); });
}

DiagonalGaussian encode_tiled(AutoencoderKLImpl& vae, const torch::Tensor& x, const VAETiling& t) {
  if (!t.enabled()) return vae.encode(x);
  const int64_t f = vae.config().downsample_factor();
  check_tiling(t, f);
  check(x.size(2) % f == 0 && x.size(3) % f == 0,
        "tiled VAE encode needs an image size that is "
        "a multiple of ",
        f, ", got ", x.size(2), "x", x.size(3));
  const TileGeometry g{t.tile, overlap_of(t, f), f, 1, f};
  const auto moments = run_tiled(x, g, [&](const torch::Tensor& tile) {
    const auto p = vae.encode(tile);
    return torch::cat({p.mean, p.logvar}, 1);  // [B, 2 embed_dim, h, w]
  });
  return DiagonalGaussian::from_moments(moments);
}

}  // namespace elit::models
