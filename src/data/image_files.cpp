#include "elit/data/image_files.h"

#include <filesystem>

#include "elit/data/image_folder.h"
#include "elit/io/image.h"
#include "elit/runtime/error.h"

namespace elit::data {
namespace fs = std::filesystem;

std::vector<std::string> collect_images(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    check(fs::exists(in), "image path '", in, "' does not exist");
    if (!fs::is_directory(in)) {
      out.push_back(in);
      continue;
    }
    const auto found = images_below(in);
    check(!found.empty(), "no images (png, jpg, bmp, gif, tga, pnm) in '", in, "'");
    out.insert(out.end(), found.begin(), found.end());
  }
  check(!out.empty(), "no images given");
  return out;
}

torch::Tensor read_images_for_model(const std::vector<std::string>& paths, int64_t resolution,
                                    int64_t channels) {
  check(channels == 1 || channels == 3, "images can be read as 1 or 3 channels, not ", channels);
  std::vector<torch::Tensor> images;
  for (const auto& path : paths) {
    auto image = to_channels(io::read_image(path), channels);  // uint8 [H, W, C]
    if (resolution > 0) image = adm_center_crop(image, resolution);
    if (!images.empty()) {
      check(image.sizes() == images[0].sizes(), "image '", path, "' is ", image.size(1), "x",
            image.size(0), ", the first ", images[0].size(1), "x", images[0].size(0),
            ": give --resolution to centre-crop them all to one size");
    }
    images.push_back(image);
  }
  // [N, H, W, C] uint8 -> [N, C, H, W] in [-1, 1]
  return torch::stack(images).permute({0, 3, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0);
}

}  // namespace elit::data
