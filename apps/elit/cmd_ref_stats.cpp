// elit ref-stats: writes a reference batch in ADM's layout (arr_0 images, mu/sigma, mu_s/sigma_s)
// from a dataset split or from the images of another .npz, with a given feature network.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "elit/data/fashion_mnist.h"
#include "elit/io/npz.h"
#include "elit/metrics/evaluation.h"
#include "elit/runtime/error.h"
#include "stage_progress.h"

namespace elit::app {
namespace {

struct RefStatsOptions {
  std::string dataset, split = "train", images, out, data_dir = data::kFashionMnistDir;
  std::string device = "cpu", inception;
  std::vector<std::string> features{"default"};
  int64_t size = 0, count = 0, keep_images = 10000, batch_size = 0;
  bool rgb = false;
};

torch::Tensor source_images(const RefStatsOptions& o) {
  check(o.dataset.empty() != o.images.empty(), "give exactly one of --dataset and --images");
  if (!o.images.empty()) return metrics::fit_images(io::read_npz_array(o.images, "arr_0"), o.size);
  check(o.dataset == "fashion-mnist", "unknown dataset '", o.dataset, "' (expected fashion-mnist)");
  return metrics::fit_images(data::load_fashion_mnist(o.split, o.data_dir).images, o.size);
}

void run(const RefStatsOptions& o) {
  start_command();
  auto images = source_images(o);
  if (o.count > 0 && images.size(0) > o.count) images = images.slice(0, 0, o.count);
  if (o.rgb && images.size(3) == 1) images = images.expand({-1, -1, -1, 3}).contiguous();
  metrics::EvalOptions e;
  e.features = o.features.at(0);
  e.network_file = o.features.size() > 1 ? o.features[1] : "";
  if (!o.inception.empty()) e.features = "inception", e.network_file = o.inception;
  e.device = parse_device(o.device);
  StageBars bars;
  auto progress = [&bars](const std::string& s, int64_t d, int64_t t) { bars(s, d, t); };
  auto net = metrics::open_eval_network(e, progress, [](const std::string& m) { note(m); });
  const auto f = metrics::extract_features(*net, images, o.batch_size,
                                           [&](int64_t d, int64_t t) { bars("features", d, t); });
  bars.finish();
  metrics::ReferenceBatch batch;
  batch.stats = metrics::compute_statistics(f.features);
  if (f.spatial.defined()) batch.spatial_stats = metrics::compute_statistics(f.spatial);
  if (o.keep_images != 0) {
    batch.images = o.keep_images > 0 && images.size(0) > o.keep_images
                       ? images.slice(0, 0, o.keep_images).contiguous()
                       : images;
  }
  batch.feature_network = net->name();
  batch.dataset = o.dataset.empty() ? o.images : o.dataset + "/" + o.split;
  metrics::write_reference_batch(o.out, batch);
  std::cout << "reference batch " << o.out << ": statistics of " << images.size(0) << " images ("
            << f.features.size(1) << "-d " << net->name() << " features"
            << (f.spatial.defined() ? ", spatial" : "") << "), "
            << (batch.images.defined() ? batch.images.size(0) : 0) << " images kept in arr_0"
            << std::endl;
}

}  // namespace

void add_ref_stats_command(CLI::App& app) {
  auto o = std::make_shared<RefStatsOptions>();
  auto* cmd = app.add_subcommand("ref-stats",
                                 "write a reference batch (ADM .npz layout) for elit eval --ref");
  cmd->add_option("--dataset", o->dataset, "fashion-mnist");
  cmd->add_option("--split", o->split, "train or test")->capture_default_str();
  cmd->add_option("--images", o->images, "or: the arr_0 images of this .npz")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "output .npz")->required();
  cmd->add_option("--size", o->size,
                  "place images at size x size like the model's input (0: as stored)")
      ->capture_default_str();
  cmd->add_option("--count", o->count, "use the first N images (0: all)")->capture_default_str();
  cmd->add_option("--keep-images", o->keep_images,
                  "images stored in arr_0 for precision/recall and KID (-1: all, 0: none)")
      ->capture_default_str();
  cmd->add_flag("--rgb", o->rgb, "store grey images as 3 channels (for ADM's evaluator)");
  cmd->add_option("--features", o->features,
                  "feature network: default | classifier FILE | inception FILE | torchscript FILE")
      ->expected(1, 2)
      ->capture_default_str();
  cmd->add_option("--inception", o->inception,
                  "Inception TorchScript (same as --features inception FILE)");
  cmd->add_option("--data-dir", o->data_dir, "Fashion-MNIST IDX folder")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "feature batch (0: the network's own)");
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
