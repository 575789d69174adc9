// Reference batches in the ADM evaluator's .npz layout, so that ADM's published reference files
// work with `--features inception` and ours work with ADM's evaluator:
//   arr_0    uint8 [N, H, W, C]  reference images (precision/recall, KID; optional here)
//   mu       [D]      sigma   [D, D]   pool-feature statistics (FD)
//   mu_s     [S]      sigma_s [S, S]   spatial-feature statistics (sFID), when the network has them
// elit adds, and ADM ignores: `count` (int64 scalar, the N behind mu/sigma), `feature_network` and
// `dataset` (uint8 arrays holding UTF-8 text).
#pragma once
#include <optional>
#include <string>

#include "elit/metrics/statistics.h"

namespace elit::metrics {

struct ReferenceBatch {
  torch::Tensor images;  // uint8 [N, H, W, C]; undefined when the file holds statistics only
  std::optional<Statistics> stats, spatial_stats;
  std::string feature_network;  // "" when not recorded (ADM's own files)
  std::string dataset;          // e.g. "fashion-mnist/train"; "" when not recorded
};

// Reads and validates a reference batch: shapes of mu/sigma (and mu_s/sigma_s) must agree, arr_0
// must be uint8 NHWC; a file must hold arr_0 or mu/sigma. Errors name the file and the array.
ReferenceBatch read_reference_batch(const std::string& path);

// Writes `batch` (mu/sigma as float64) atomically.
void write_reference_batch(const std::string& path, const ReferenceBatch& batch);

// Dataset images uint8 [N, H, W] at a model's resolution, as data::to_model_space places them but
// staying in uint8: centred on a black (0) canvas when size >= H, W, else bilinearly resized and
// rounded. -> uint8 [N, size, size, 1]. size 0 keeps them as they are.
torch::Tensor fit_images(const torch::Tensor& images, int64_t size);

// Text <-> uint8 array, for the text fields above.
torch::Tensor text_array(const std::string& text);
std::string array_text(const torch::Tensor& bytes);

}  // namespace elit::metrics
