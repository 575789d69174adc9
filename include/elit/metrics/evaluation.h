// The whole evaluation of a set of generated images against real data: FD (with a real-vs-real
// floor), sFID and FDD when those networks are given, Inception Score, precision/recall, KID and
// CAS, with every N recorded. `elit eval` and the main job call evaluate_samples().
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "elit/metrics/classifier_training.h"
#include "elit/metrics/frechet_distance.h"
#include "elit/metrics/kid.h"
#include "elit/metrics/precision_recall.h"
#include "elit/metrics/reference_batch.h"

namespace elit::metrics {

struct EvalOptions {
  std::string features = "default";         // default | classifier | inception | torchscript
  std::string network_file;                 // "" with default: default_classifier_path()
  bool train_classifier_if_missing = true;  // default features: train when the file is missing
  std::string fdd_file;                     // DINOv2 TorchScript: adds FDD (and its floor) when set
  torch::Device device = torch::kCPU;
  int64_t batch_size = 0;        // feature extraction batch (0: the network's own)
  int64_t is_split_size = 5000;  // ADM
  // Reference images used for precision/recall, KID and FDD (the first ones; 0: all). ADM's
  // reference batches hold 10k images for precision/recall.
  int64_t reference_image_limit = 10000;
  int64_t floor_limit = 10000;  // held-out real images for the floor (at most the sample count)
  ManifoldOptions manifold;
  KidOptions kid;
  FrechetOptions frechet;
  bool cas = true;  // when the samples have labels and the features are a classifier
  ClassifierTrainOptions classifier;    // training of a missing default classifier
  ClassifierTrainOptions cas_training;  // the CAS classifier (same architecture)
};

// Real data, resolved from a dataset or a reference batch file.
struct RealData {
  std::string description;     // "fashion-mnist train split", "ref.npz"
  ReferenceBatch reference;    // images (+ statistics when read from a file)
  torch::Tensor floor_images;  // held-out real images; undefined: split-half of the images
  std::string floor_description;
  torch::Tensor test_images, test_labels;  // CAS test data; undefined: no CAS
};

// "fashion-mnist": the train split as reference, the test split for the floor and CAS; images
// placed at `size` x `size` (fit_images; 0: 28 x 28 as stored), e.g. the samples' size.
RealData real_data_from_dataset(const std::string& name, const std::string& dir = "",
                                int64_t size = 0);
// A reference batch; a file that ref-stats wrote from fashion-mnist also gets that dataset's test
// split for the floor and CAS (when the dataset is installed).
RealData real_data_from_file(const std::string& path);

struct FdResult {
  double value = 0, floor = 0;
  int64_t count = 0;            // samples
  int64_t reference_count = 0;  // N behind the reference statistics (0: unknown, from a file)
  int64_t floor_count = 0;
  std::string floor_method;
};

struct EvalReport {
  std::string samples, reference, feature_network;
  int64_t sample_count = 0;
  FdResult fd;
  std::optional<FdResult> sfid, fdd;
  std::optional<double> inception_score;
  int64_t is_split_size = 0;
  PrecisionRecall pr;
  int64_t pr_k = 0, pr_reference_count = 0;
  KidResult kid;
  std::optional<CasResult> cas;
  std::string cas_note;                                 // why CAS was skipped
  std::vector<std::pair<std::string, double>> seconds;  // per stage
};

// (stage, done, total): a stage starts with done = 0.
using StageProgress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

// samples: uint8 [N, H, W, C]; labels: int64 [N] or undefined (no CAS).
EvalReport evaluate_samples(const torch::Tensor& samples, const torch::Tensor& labels,
                            const RealData& real, const EvalOptions& o,
                            const StageProgress& progress = {},
                            const std::function<void(const std::string&)>& note = {});

// Reads arr_0 (uint8 NHWC) and arr_1 (labels, optional) from an ADM-layout samples .npz.
std::pair<torch::Tensor, torch::Tensor> read_samples(const std::string& path);

// Opens the feature network of `o` (training the default classifier when allowed and missing).
std::unique_ptr<FeatureNetwork> open_eval_network(
    const EvalOptions& o, const StageProgress& progress = {},
    const std::function<void(const std::string&)>& note = {});

// Every number of the report as JSON, and as a few human-readable lines.
std::string report_json(const EvalReport& r);
std::string report_text(const EvalReport& r);

}  // namespace elit::metrics
