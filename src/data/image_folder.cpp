#include "elit/data/image_folder.h"

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "elit/io/image.h"
#include "elit/runtime/error.h"

namespace elit::data {
namespace fs = std::filesystem;
namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  static const std::set<std::string> known = {".png", ".jpg", ".jpeg", ".bmp", ".gif",
                                              ".tga", ".pgm", ".ppm",  ".pnm"};
  return known.count(ext) > 0;
}

}  // namespace

std::vector<std::string> images_below(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e :
       fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
    if (e.is_regular_file() && is_image(e.path())) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// uint8 [H, W, C] with C in 1..4 -> uint8 [H, W, channels] (PIL's "L" weights for grey).
torch::Tensor to_channels(const torch::Tensor& image, int64_t channels) {
  auto rgb = image.size(2) >= 3 ? image.narrow(2, 0, 3) : image.narrow(2, 0, 1);
  if (channels == 3) return rgb.size(2) == 3 ? rgb : rgb.expand({-1, -1, 3});
  if (rgb.size(2) == 1) return rgb;
  auto w = torch::tensor({0.299f, 0.587f, 0.114f});
  return (rgb.to(torch::kFloat32) * w).sum(2, true).round().clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor adm_center_crop(const torch::Tensor& image, int64_t size) {
  check(image.dim() == 3 && image.scalar_type() == torch::kUInt8,
        "adm_center_crop expects uint8 [H, W, C], got ", image.sizes());
  check(size > 0, "center crop size must be > 0, got ", size);
  auto x = image.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);  // [1, C, H, W]
  // PIL rounds to uint8 after every resize; so do we, to stay close to the published pixels.
  while (std::min(x.size(2), x.size(3)) >= 2 * size) {
    x = torch::avg_pool2d(x, {2, 2}).round();  // BOX filter to (H // 2, W // 2)
  }
  const double scale =
      static_cast<double>(size) / static_cast<double>(std::min(x.size(2), x.size(3)));
  // Python's round() is round-half-even, as nearbyint in the default rounding mode.
  const auto h = static_cast<int64_t>(std::nearbyint(static_cast<double>(x.size(2)) * scale));
  const auto w = static_cast<int64_t>(std::nearbyint(static_cast<double>(x.size(3)) * scale));
  if (h != x.size(2) || w != x.size(3)) {
    namespace F = torch::nn::functional;
    // Antialiased bicubic is PIL's BICUBIC (a = -0.5) for down- and upscaling.
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{h, w})
                              .mode(torch::kBicubic)
                              .align_corners(false)
                              .antialias(true));
    x = x.round().clamp(0, 255);
  }
  const int64_t top = (h - size) / 2, left = (w - size) / 2;
  x = x.narrow(2, top, size).narrow(3, left, size);  // [1, C, size, size]
  return x[0].permute({1, 2, 0}).to(torch::kUInt8).contiguous();
}

ImageFolderDataset::ImageFolderDataset(const DatasetOptions& o)
    : flip_(o.random_flip != 0), skip_bad_(o.on_bad_image == "skip"), warn_(o.warn) {
  check(o.on_bad_image == "skip" || o.on_bad_image == "fail",
        "on_bad_image must be skip or fail, got '", o.on_bad_image, "'");
  check(!o.data_dir.empty(), "dataset image_folder needs data_dir (a folder of images)");
  check(fs::is_directory(o.data_dir), "data_dir '", o.data_dir, "' is not a folder");
  check(o.resolution > 0, "dataset image_folder needs resolution (the training image size)");
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(o.data_dir)) {
    if (e.is_directory()) classes.push_back(e.path());
  }
  std::sort(classes.begin(), classes.end());
  info_.labeled = !classes.empty();
  if (info_.labeled) {
    for (size_t c = 0; c < classes.size(); ++c) {
      for (auto& p : images_below(classes[c])) {
        paths_.push_back(std::move(p));
        labels_.push_back(static_cast<int64_t>(c));
      }
      info_.class_names.push_back(classes[c].filename().string());
    }
  } else {
    paths_ = images_below(o.data_dir);
    labels_.assign(paths_.size(), 0);
  }
  check(!paths_.empty(), "no images (png, jpg, bmp, gif, tga, pnm) in '", o.data_dir, "'");
  info_.kind = "image_folder";
  info_.name = "image_folder:" + o.data_dir;
  info_.data_space = "pixels";
  info_.num_classes = info_.labeled ? static_cast<int64_t>(classes.size()) : 1;
  info_.height = info_.width = o.resolution;
  // The first readable image decides grey (1 channel) or colour (3).
  for (int64_t i = 0; i < size() && info_.channels == 0; ++i) {
    try {
      info_.channels = io::read_image(paths_[i]).size(2) <= 2 ? 1 : 3;
    } catch (const Error& e) {
      if (!skip_bad_) throw;
    }
  }
  check(info_.channels > 0, "no readable image in '", o.data_dir, "'");
}

torch::Tensor ImageFolderDataset::load(int64_t index) const {
  const auto image = io::read_image(paths_[index]);
  return adm_center_crop(to_channels(image, info_.channels), info_.height);
}

Example ImageFolderDataset::get(int64_t index, uint64_t seed) const {
  // A bad image is replaced by the next readable one, so the batch keeps its size and a resumed
  // run sees the same replacement.
  for (int64_t tries = 0; tries < size(); ++tries) {
    const int64_t i = (index + tries) % size();
    {
      std::lock_guard<std::mutex> lock(bad_mutex_);
      if (bad_.count(i)) continue;
    }
    try {
      auto x = load(i).permute({2, 0, 1}).to(torch::kFloat32).div(127.5).sub(1.0);  // [C, S, S]
      if (flip_ && uniform_from_seed(seed) < 0.5) x = x.flip({2});
      return {x.contiguous(), labels_[i]};
    } catch (const Error& e) {
      if (!skip_bad_) {
        fail(e.what(), " (set on_bad_image: skip to skip unreadable images)");
      }
      std::lock_guard<std::mutex> lock(bad_mutex_);
      if (bad_.insert(i).second && warn_) warn_(std::string(e.what()) + "; skipped");
    }
  }
  fail("no readable image left in '", info_.name, "'");
}

}  // namespace elit::data
