// Tiled encode and decode: the image (or latent) is cut into overlapping tiles that are coded
// one at a time, and the outputs are blended with linear ramps across each overlap, so that a
// large image needs the memory of one tile. GroupNorm statistics and the mid attention then see
// one tile instead of the whole image, so the result is close to, not equal to, the untiled one
// (docs/latent.md states the measured difference). A tile at least as large as the image gives
// exactly the untiled result.
#pragma once
#include <functional>

#include "elit/models/autoencoder_kl.h"

namespace elit::models {

struct VAETiling {
  int64_t tile = 0;      // tile side in pixels (a multiple of the downsample factor); 0: no tiling
  int64_t overlap = -1;  // pixels shared by neighbouring tiles; -1: tile / 4
  bool enabled() const { return tile > 0; }
};

// z: [B, embed_dim, h, w] -> [B, out_ch, h * f, w * f], decoded tile by tile.
torch::Tensor decode_tiled(AutoencoderKLImpl& vae, const torch::Tensor& z, const VAETiling& tiling);

// x: [B, in_channels, H, W] with H and W multiples of f -> the posterior, encoded tile by tile
// (mean and logvar blended).
DiagonalGaussian encode_tiled(AutoencoderKLImpl& vae, const torch::Tensor& x,
                              const VAETiling& tiling);

// The tile layout of run_tiled, in input units; outputs are num / den times the input size.
struct TileGeometry {
  int64_t in_tile, in_overlap, align;
  int64_t num, den;
};

// Runs `code` on every tile of x and blends the outputs with linear ramps across the overlaps
// (weights normalised to sum 1). x: [B, C, H, W] -> [B, C', H * num / den, W * num / den]
torch::Tensor run_tiled(const torch::Tensor& x, const TileGeometry& geometry,
                        const std::function<torch::Tensor(const torch::Tensor&)>& code);

// Tile start offsets along a side of `length` for tiles of `tile` with `overlap` (aligned to
// `align`): 0, stride, 2 stride, ..., and a last tile flush with the end.
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap, int64_t align);

}  // namespace elit::models
