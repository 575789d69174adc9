// Images as uint8 tensors [H, W, C] (C = 1 grey or 3 RGB), read and written with stb.
#pragma once
#include <torch/types.h>

#include <string>

namespace elit::io {

// Reads PNG/JPEG/BMP/... ; throws elit::Error naming the path when it cannot be decoded or
// declares more than 256 MB of pixels (an 8k x 8k RGBA image).
torch::Tensor read_image(const std::string& path);
// The same from the file's bytes; `origin` names it in errors.
torch::Tensor decode_image(const std::string& bytes, const std::string& origin);

// Writes a PNG atomically. `image`: uint8 [H, W, C] with C in {1, 3, 4}.
void write_png(const std::string& path, const torch::Tensor& image);
// The PNG file's bytes for `image` (uint8 [H, W, C], C in {1, 3, 4}).
std::string encode_png(const torch::Tensor& image);

// Model space to pixels, the published convention: x in [-1, 1] -> clamp(255 * (x + 1) / 2)
// truncated to uint8. [B, C, H, W] float -> [B, H, W, C] uint8.
torch::Tensor to_uint8_images(const torch::Tensor& x);

// Tiles [B, H, W, C] uint8 images into one [H', W', C] image, `columns` per row, `padding`
// pixels of `background` between and around them.
torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding = 2,
                        uint8_t background = 0);

}  // namespace elit::io
