// Images named on a command line (files, or folders searched recursively) read into one batch in
// model space, for coding with a VAE.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace elit::data {

// Image paths from files and folders (a folder's images sorted), in the order given. Throws
// elit::Error naming a path that does not exist or a folder without images.
std::vector<std::string> collect_images(const std::vector<std::string>& inputs);

// float32 [N, channels, S, S] in [-1, 1]: each image ADM centre-cropped to `resolution`, or with
// resolution 0 at its own size (then all must have the same size). Grey images are repeated to
// RGB for 3 channels, RGB turned grey for 1.
torch::Tensor read_images_for_model(const std::vector<std::string>& paths, int64_t resolution,
                                    int64_t channels);

}  // namespace elit::data
