// elit eval: FD (+ real-vs-real floor), sFID/FDD when those networks are given, IS,
// precision/recall, KID and CAS of generated samples against a reference batch or a dataset.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "elit/metrics/evaluation.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "stage_progress.h"

namespace elit::app {
namespace {

struct EvalCommandOptions {
  std::string samples, ref, ref_dataset, json, device = "cpu", inception, pr_dtype = "float64";
  std::vector<std::string> features{"default"};
  std::string classifier;
  int64_t ref_size = -1;
  metrics::EvalOptions eval;
};

// --features default | classifier FILE | inception FILE | dinov2 FILE | torchscript FILE
void resolve_features(EvalCommandOptions& o) {
  auto& e = o.eval;
  e.features = o.features.at(0);
  e.network_file = o.features.size() > 1 ? o.features[1] : "";
  if (!o.inception.empty()) e.features = "inception", e.network_file = o.inception;
  if (e.features == "default" && !o.classifier.empty()) e.network_file = o.classifier;
  check(e.features == "default" || !e.network_file.empty(), "--features ", e.features,
        " needs a file: --features ", e.features, " FILE");
  check(o.features.size() <= 2, "--features takes a kind and at most one file");
}

void run(EvalCommandOptions o) {
  start_command();
  check(o.ref.empty() != o.ref_dataset.empty(),
        "give exactly one of --ref R.npz and --ref-dataset");
  resolve_features(o);
  o.eval.device = parse_device(o.device);
  o.eval.manifold.device = o.eval.device;
  o.eval.manifold.dtype = parse_dtype(o.pr_dtype);
  const auto [samples, labels] = metrics::read_samples(o.samples);
  note("samples " + o.samples + ": " + std::to_string(samples.size(0)) + " images " +
       std::to_string(samples.size(1)) + "x" + std::to_string(samples.size(2)) + "x" +
       std::to_string(samples.size(3)) + (labels.defined() ? ", with labels" : ", no labels"));
  const int64_t size = o.ref_size >= 0 ? o.ref_size : samples.size(1);
  const auto real = o.ref.empty() ? metrics::real_data_from_dataset(o.ref_dataset, "", size)
                                  : metrics::real_data_from_file(o.ref);
  StageBars bars;
  auto report = metrics::evaluate_samples(
      samples, labels, real, o.eval,
      [&bars](const std::string& s, int64_t d, int64_t t) { bars(s, d, t); },
      [](const std::string& m) { note(m); });
  bars.finish();
  report.samples = o.samples;
  std::cout << metrics::report_text(report);
  if (!o.json.empty()) {
    write_file_atomically(o.json, metrics::report_json(report) + "\n");
    note("report -> " + o.json);
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand(
      "eval",
      "evaluate samples: FD with a real-vs-real floor, IS, precision/recall, KID, CAS "
      "(+ sFID with Inception, FDD with DINOv2)");
  cmd->add_option("--samples", o->samples,
                  "samples .npz (ADM layout: arr_0 uint8 [N,H,W,C], optional arr_1 labels)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--ref", o->ref, "reference batch .npz (ADM layout; from elit ref-stats or ADM)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--ref-dataset", o->ref_dataset,
                  "reference dataset: fashion-mnist (train split; test split for floor and CAS)");
  cmd->add_option("--ref-size", o->ref_size,
                  "place dataset images at this size (default: the samples' size)");
  cmd->add_option("--features", o->features,
                  "feature network: default | classifier FILE | inception FILE | torchscript FILE")
      ->expected(1, 2)
      ->capture_default_str();
  cmd->add_option("--classifier", o->classifier,
                  "default classifier weights (default: $ELIT_CLASSIFIER or ~/.cache/elit/...; "
                  "trained when missing)");
  cmd->add_option(
      "--inception", o->inception,
      "Inception TorchScript (NVLabs inception-2015-12-05.pt interface): FID, sFID, IS");
  cmd->add_option("--fdd", o->eval.fdd_file, "DINOv2 ViT-L/14 TorchScript: adds FD_DINOv2");
  cmd->add_option("--json", o->json, "write every number as JSON here");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--batch-size", o->eval.batch_size, "feature batch (0: the network's own)");
  cmd->add_option("--is-split", o->eval.is_split_size, "Inception Score split size (ADM: 5000)")
      ->capture_default_str();
  cmd->add_option("--k", o->eval.manifold.k, "precision/recall neighbourhood size")
      ->capture_default_str();
  cmd->add_option("--pr-dtype", o->pr_dtype, "precision/recall distance precision: float64|float32")
      ->capture_default_str();
  cmd->add_option("--ref-limit", o->eval.reference_image_limit,
                  "reference images for precision/recall, KID and FDD (0: all)")
      ->capture_default_str();
  cmd->add_option("--floor-limit", o->eval.floor_limit, "held-out real images for the FD floor")
      ->capture_default_str();
  cmd->add_option("--kid-subsets", o->eval.kid.subsets, "KID over random subsets (0: full sets)")
      ->capture_default_str();
  cmd->add_option("--kid-subset-size", o->eval.kid.subset_size, "rows per KID subset")
      ->capture_default_str();
  cmd->add_option("--fd-eps", o->eval.frechet.eps, "ADM's retry offset for a singular product")
      ->capture_default_str();
  cmd->add_flag("!--no-cas", o->eval.cas, "skip the classification accuracy score");
  cmd->add_option("--cas-epochs", o->eval.cas_training.epochs, "CAS classifier training epochs")
      ->capture_default_str();
  cmd->add_option("--cas-max-seconds", o->eval.cas_training.max_seconds,
                  "bound on the CAS classifier's training time")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
