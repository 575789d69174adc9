#include "elit/metrics/evaluation.h"

#include <chrono>
#include <limits>

#include "elit/io/npz.h"
#include "elit/metrics/inception_score.h"
#include "elit/metrics/torchscript_features.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"

namespace elit::metrics {
namespace {

using Note = std::function<void(const std::string&)>;

class StageTimer {
 public:
  explicit StageTimer(EvalReport& r) : report_(r) {}
  void next(const std::string& stage) {
    stop();
    stage_ = stage;
    watch_.restart();
  }
  void stop() {
    if (stage_.empty()) return;
    report_.seconds.emplace_back(stage_, watch_.seconds());
    stage_.clear();
  }

 private:
  EvalReport& report_;
  std::string stage_;
  Stopwatch watch_;
};

ProgressCallback stage(const StageProgress& progress, const std::string& name) {
  if (progress) progress(name, 0, 1);
  if (!progress) return {};
  return [progress, name](int64_t done, int64_t total) { progress(name, done, total); };
}

torch::Tensor first(const torch::Tensor& t, int64_t limit) {
  return limit > 0 && t.size(0) > limit ? t.slice(0, 0, limit) : t;
}

// FD of the samples against the reference statistics, and the floor: FD of held-out real
// features against the same statistics, or (no held-out set) of one half of the reference
// features against the other half.
FdResult fd_with_floor(const torch::Tensor& samples, const Statistics& ref,
                       const torch::Tensor& floor, const torch::Tensor& reference,
                       const std::string& floor_description, const FrechetOptions& o) {
  check(samples.size(1) == ref.dim(), "feature size mismatch: samples give ", samples.size(1),
        "-d features but the reference statistics are ", ref.dim(), "-d (same feature network?)");
  FdResult r;
  r.value = frechet_distance(compute_statistics(samples), ref, o);
  r.count = samples.size(0);
  r.reference_count = ref.count;
  if (floor.defined() && floor.size(0) >= 2) {
    r.floor = frechet_distance(compute_statistics(floor), ref, o);
    r.floor_count = floor.size(0);
    r.floor_method = floor_description + " vs reference statistics";
  } else if (reference.defined() && reference.size(0) >= 4) {
    const int64_t half = reference.size(0) / 2;
    r.floor = frechet_distance(compute_statistics(reference.slice(0, 0, half)),
                               compute_statistics(reference.slice(0, half, 2 * half)), o);
    r.floor_count = half;
    r.floor_method = "split-half of the reference images";
  } else {
    r.floor = std::numeric_limits<double>::quiet_NaN();
    r.floor_method = "unavailable (no held-out real images)";
  }
  return r;
}

// The reference statistics for `net`: the file's when they were made by the same network (or by
// an unnamed network of the right size: ADM's files), else computed from all reference images.
std::optional<Statistics> usable_file_stats(const ReferenceBatch& ref,
                                            const std::optional<Statistics>& stats,
                                            const std::string& network, int64_t dim,
                                            const std::string& what, const Note& note) {
  if (!stats) return std::nullopt;
  const bool same_network = ref.feature_network.empty() || ref.feature_network == network;
  if (same_network && stats->dim() == dim) return stats;
  std::string why = same_network ? std::to_string(stats->dim()) + "-d statistics but " +
                                       std::to_string(dim) + "-d features"
                                 : "statistics of '" + ref.feature_network + "'";
  check(ref.images.defined(), "reference ", what, " statistics do not fit the feature network '",
        network, "' (", why, ") and the file has no images (arr_0) to recompute them from");
  if (note) note("reference file has " + why + "; recomputing " + what + " statistics from arr_0");
  return std::nullopt;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> read_samples(const std::string& path) {
  const auto arrays = io::read_npz(path);
  check(arrays.count("arr_0") > 0, "samples file '", path,
        "' has no arr_0 (expected ADM layout: arr_0 uint8 [N, H, W, C], optional arr_1 labels)");
  auto images = as_nhwc_images(arrays.at("arr_0"), path + ": arr_0");
  torch::Tensor labels;
  if (arrays.count("arr_1")) {
    labels = arrays.at("arr_1");
    check(labels.dim() == 1 && labels.size(0) == images.size(0) &&
              !c10::isFloatingType(labels.scalar_type()),
          "samples file '", path, "': arr_1 (labels) must be integers [", images.size(0), "], got ",
          c10::toString(labels.scalar_type()), " ", labels.sizes());
    labels = labels.to(torch::kInt64);
    check(labels.numel() == 0 || labels.min().item<int64_t>() >= 0, "samples file '", path,
          "': arr_1 (labels) must be class indices >= 0, found ", labels.min().item<int64_t>());
  }
  return {images, labels};
}

std::unique_ptr<FeatureNetwork> open_eval_network(const EvalOptions& o,
                                                  const StageProgress& progress, const Note& note) {
  if (o.features == "default" && o.train_classifier_if_missing) {
    ClassifierTrainOptions train = o.classifier;
    train.device = o.device;
    auto cb = stage(progress, "train classifier");
    load_or_train_default_classifier(
        o.network_file, train,
        cb ? TrainCallback([cb](int64_t s, int64_t t, double) { cb(s, t); }) : TrainCallback{},
        note);
  }
  return open_feature_network(o.features, o.network_file, o.device);
}

namespace {

constexpr int64_t kMinEvalImageSide = 8;  // below this no feature network sees an image

// Everything computed from real images with the main network.
struct RealFeatures {
  Statistics stats;
  std::optional<Statistics> spatial_stats;
  FeatureSet subset;  // the reference images for precision/recall and KID
  FeatureSet floor;   // held-out real images
};

RealFeatures real_features(FeatureNetwork& net, const FeatureSet& fake, const RealData& real,
                           const EvalOptions& o, StageTimer& timer, const StageProgress& progress,
                           const Note& note) {
  const auto& ref = real.reference;
  auto stats = usable_file_stats(ref, ref.stats, net.name(), fake.features.size(1), "pool", note);
  std::optional<Statistics> spatial;
  if (net.has_spatial()) {
    spatial = usable_file_stats(ref, ref.spatial_stats, net.name(), fake.spatial.size(1), "spatial",
                                note);
  }
  // Statistics from the file: only the images used for precision/recall need features.
  const bool need_all = !stats || (net.has_spatial() && !spatial);
  timer.next("reference features");
  FeatureSet all;
  if (ref.images.defined()) {
    const auto images = need_all ? ref.images : first(ref.images, o.reference_image_limit);
    all = extract_features(net, images, o.batch_size, stage(progress, "reference features"));
  }
  RealFeatures f;
  f.stats = stats ? *stats : compute_statistics(all.features);
  if (net.has_spatial()) f.spatial_stats = spatial ? *spatial : compute_statistics(all.spatial);
  const int64_t limit = o.reference_image_limit > 0 ? o.reference_image_limit : all.count();
  f.subset = all.slice(0, std::min(all.count(), limit));
  if (real.floor_images.defined()) {
    timer.next("floor features");
    f.floor = extract_features(net, first(real.floor_images, std::min(o.floor_limit, fake.count())),
                               o.batch_size, stage(progress, "floor features"));
  }
  return f;
}

void feature_metrics(EvalReport& r, const FeatureSet& fake, const RealFeatures& real,
                     const std::string& floor_description, const EvalOptions& o, StageTimer& timer,
                     const StageProgress& progress) {
  timer.next("fd");
  r.fd = fd_with_floor(fake.features, real.stats, real.floor.features, real.subset.features,
                       floor_description, o.frechet);
  if (real.spatial_stats) {
    r.sfid = fd_with_floor(fake.spatial, *real.spatial_stats, real.floor.spatial,
                           real.subset.spatial, floor_description, o.frechet);
  }
  if (fake.probs.defined()) {
    timer.next("inception score");
    r.inception_score = inception_score(fake.probs, o.is_split_size);
    r.is_split_size = o.is_split_size;
  }
  if (real.subset.count() == 0) return;
  timer.next("precision/recall");
  r.pr = precision_recall(real.subset.features, fake.features, o.manifold,
                          stage(progress, "precision/recall"));
  r.pr_k = o.manifold.k;
  r.pr_reference_count = real.subset.count();
  timer.next("kid");
  r.kid =
      kernel_inception_distance(real.subset.features, fake.features, o.kid, stage(progress, "kid"));
}

// FD of DINOv2 features; the reference statistics come from the reference images.
FdResult fdd_metric(const torch::Tensor& samples, const RealData& real, const EvalOptions& o,
                    const StageProgress& progress) {
  check(real.reference.images.defined(), "FDD needs reference images (arr_0), '", real.description,
        "' has statistics only");
  TorchScriptFeatures dino(o.fdd_file, dinov2_preprocessing(), o.device, "dinov2");
  const auto fake = extract_features(dino, samples, o.batch_size, stage(progress, "fdd samples"));
  const auto ref = extract_features(dino, first(real.reference.images, o.reference_image_limit),
                                    o.batch_size, stage(progress, "fdd reference"));
  FeatureSet floor;
  if (real.floor_images.defined()) {
    floor = extract_features(dino, first(real.floor_images, std::min(o.floor_limit, fake.count())),
                             o.batch_size, stage(progress, "fdd floor"));
  }
  return fd_with_floor(fake.features, compute_statistics(ref.features), floor.features,
                       ref.features, real.floor_description, o.frechet);
}

// Samples must be images of the reference's kind: same size, big enough to mean anything, and
// labels among the real data's classes.
void check_samples_fit(const torch::Tensor& samples, const torch::Tensor& labels,
                       const RealData& real) {
  const int64_t h = samples.size(1), w = samples.size(2);
  check(h >= kMinEvalImageSide && w >= kMinEvalImageSide, "samples are ", h, "x", w,
        " images; evaluation needs at least ", kMinEvalImageSide, "x", kMinEvalImageSide);
  if (real.reference.images.defined()) {
    const auto ref = as_nhwc_images(real.reference.images, real.description);
    check(ref.size(1) == h && ref.size(2) == w, "samples are ", h, "x", w,
          " images but the reference '", real.description, "' holds ", ref.size(1), "x",
          ref.size(2), " images (sample at the reference resolution)");
  }
  if (labels.defined() && labels.numel() > 0 && real.test_labels.defined() &&
      real.test_labels.numel() > 0) {
    const int64_t classes = real.test_labels.max().item<int64_t>() + 1;
    check(labels.max().item<int64_t>() < classes, "sample labels (arr_1) go up to ",
          labels.max().item<int64_t>(), " but '", real.description, "' has ", classes, " classes");
  }
}

// Why CAS cannot run here, or "" when it can.
std::string cas_obstacle(const torch::Tensor& labels, const RealData& real, const EvalOptions& o) {
  if (!o.cas) return "disabled";
  if (!labels.defined()) return "samples have no labels (arr_1)";
  if (o.features != "default" && o.features != "classifier") {
    return "CAS trains the project's classifier; not available with " + o.features;
  }
  if (!real.test_images.defined()) return "no real labelled test data for " + real.description;
  return "";
}

}  // namespace

EvalReport evaluate_samples(const torch::Tensor& samples_in, const torch::Tensor& labels,
                            const RealData& real, const EvalOptions& o,
                            const StageProgress& progress, const Note& note) {
  EvalReport r;
  StageTimer timer(r);
  const auto samples = as_nhwc_images(samples_in, "samples");
  check(real.reference.images.defined() || real.reference.stats, "no reference data");
  check_samples_fit(samples, labels, real);
  r.reference = real.description;
  r.sample_count = samples.size(0);
  timer.next("network");
  auto net = open_eval_network(o, progress, note);
  r.feature_network = net->name();
  timer.next("sample features");
  const auto fake =
      extract_features(*net, samples, o.batch_size, stage(progress, "sample features"));
  check(fake.count() >= 2, "evaluation needs at least 2 samples, got ", fake.count());
  const auto real_f = real_features(*net, fake, real, o, timer, progress, note);
  feature_metrics(r, fake, real_f, real.floor_description, o, timer, progress);
  if (!o.fdd_file.empty()) {
    timer.next("fdd");
    r.fdd = fdd_metric(samples, real, o, progress);
  }
  r.cas_note = cas_obstacle(labels, real, o);
  if (r.cas_note.empty()) {
    timer.next("cas");
    ClassifierTrainOptions train = o.cas_training;
    train.device = o.device;
    auto cb = stage(progress, "cas");
    r.cas = classification_accuracy_score(
        samples, labels, real.test_images, real.test_labels, train,
        cb ? TrainCallback([cb](int64_t s, int64_t t, double) { cb(s, t); }) : TrainCallback{});
  }
  timer.stop();
  return r;
}

}  // namespace elit::metrics
