// Heat maps for pictures of attention: values on a token grid coloured with a perceptual
// colormap (dark purple -> orange -> yellow, like matplotlib's "inferno"), magnified to the
// image size, optionally blended over the image they describe.
#pragma once
#include <torch/types.h>

namespace elit::io {

// maps: [N, h, w] non-negative values, each map scaled by its own maximum (a map of zeros stays
// dark); height and width: multiples of h and w (nearest-neighbour magnification).
// images: empty, or uint8 [N, height, width, C] (C = 1 or 3) shown in grey beneath the colours
// (`opacity` of the colour, in [0, 1]) -> uint8 [N, height, width, 3].
torch::Tensor heat_map_images(const torch::Tensor& maps, int64_t height, int64_t width,
                              const torch::Tensor& images = {}, double opacity = 0.65);

}  // namespace elit::io
