// A folder of images (PNG, JPEG, BMP, GIF, TGA via stb) as a training dataset.
//
// Layout: one sub-folder per class (class = sub-folder, sorted by name; images found recursively
// below it), or images directly in the folder (unlabeled: one class). Every image is ADM
// center-cropped to the resolution (the published preprocessing, center_crop_imagenet), given the
// channel count of the first image (grey or RGB), optionally flipped, and scaled to [-1, 1].
// An image that cannot be decoded is reported by path; with on_bad_image "skip" the next readable
// image takes its place, with "fail" (default) the run stops with that error.
#pragma once
#include <mutex>
#include <set>

#include "elit/data/dataset.h"

namespace elit::data {

// ADM's center crop (guided-diffusion image_datasets.center_crop_arr): halve with a box filter
// while the short side is at least 2 * size, resize bicubically (antialiased) so that the short
// side is `size`, then crop the center. uint8 [H, W, C] -> uint8 [size, size, C].
torch::Tensor adm_center_crop(const torch::Tensor& image, int64_t size);

// Image files (by extension) below `dir`, recursively, sorted.
std::vector<std::string> images_below(const std::string& dir);

// uint8 [H, W, C] with C in 1..4 -> uint8 [H, W, channels] (1 or 3; PIL's "L" weights for grey).
torch::Tensor to_channels(const torch::Tensor& image, int64_t channels);

class ImageFolderDataset : public Dataset {
 public:
  explicit ImageFolderDataset(const DatasetOptions& options);
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  Example get(int64_t index, uint64_t seed) const override;
  const DatasetInfo& info() const override { return info_; }
  const std::string& path(int64_t index) const { return paths_[index]; }

 private:
  torch::Tensor load(int64_t index) const;  // uint8 [S, S, C]; throws elit::Error naming the path
  std::vector<std::string> paths_;
  std::vector<int64_t> labels_;
  DatasetInfo info_;
  bool flip_ = true, skip_bad_ = false;
  std::function<void(const std::string&)> warn_;
  mutable std::mutex bad_mutex_;
  mutable std::set<int64_t> bad_;
};

}  // namespace elit::data
