#include "elit/io/heat_map.h"

#include "elit/runtime/error.h"

namespace elit::io {

namespace {

// Anchor colours of the inferno colormap at 0, 1/6, ..., 1 (sRGB, 0-255), interpolated linearly.
constexpr float kAnchors[7][3] = {{0, 0, 4},     {40, 11, 84},   {101, 21, 110}, {159, 42, 99},
                                  {212, 72, 66}, {245, 125, 21}, {252, 255, 164}};

// values in [0, 1]: [...] -> [..., 3] float in [0, 255]
torch::Tensor colormap(const torch::Tensor& values) {
  const auto table = torch::from_blob(const_cast<float*>(&kAnchors[0][0]), {7, 3}, torch::kFloat32);
  const auto position = values.clamp(0, 1) * 6.0;
  const auto lower = position.floor().clamp_max(5).to(torch::kInt64);
  const auto fraction = (position - lower.to(torch::kFloat32)).unsqueeze(-1);
  auto shape = lower.sizes().vec();
  shape.push_back(3);
  const auto lo = table.index_select(0, lower.flatten()).view(shape);
  const auto hi = table.index_select(0, (lower + 1).flatten()).view(shape);
  return lo + (hi - lo) * fraction;
}

}  // namespace

torch::Tensor heat_map_images(const torch::Tensor& maps, int64_t height, int64_t width,
                              const torch::Tensor& images, double opacity) {
  check(maps.dim() == 3, "heat maps must be [N, h, w], got ", maps.sizes());
  const int64_t n = maps.size(0), h = maps.size(1), w = maps.size(2);
  check(h > 0 && w > 0 && height % h == 0 && width % w == 0, "a ", h, "x", w,
        " map does not magnify to ", height, "x", width);
  check(opacity >= 0 && opacity <= 1, "heat-map opacity must be in [0, 1], got ", opacity);
  auto m = maps.to(torch::kCPU, torch::kFloat32);
  check(torch::isfinite(m).all().item<bool>(), "heat maps must be finite");
  const auto peak = m.flatten(1).amax(1).clamp_min(1e-30).view({n, 1, 1});
  m = (m / peak).repeat_interleave(height / h, 1).repeat_interleave(width / w, 2);
  auto colours = colormap(m);  // [N, height, width, 3]
  if (images.defined()) {
    check(images.dim() == 4 && images.size(0) == n && images.size(1) == height &&
              images.size(2) == width && (images.size(3) == 1 || images.size(3) == 3),
          "images under heat maps must be [", n, ", ", height, ", ", width, ", 1|3], got ",
          images.sizes());
    const auto grey = images.to(torch::kFloat32).mean(-1, /*keepdim=*/true);
    colours = opacity * colours + (1.0 - opacity) * grey;
  }
  return colours.round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace elit::io
