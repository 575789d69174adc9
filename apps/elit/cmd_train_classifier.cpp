// elit train-classifier: trains the default Fashion-MNIST feature network (the classifier whose
// penultimate features give FD, precision/recall and KID, and whose logits give IS and CAS).
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "elit/data/fashion_mnist.h"
#include "elit/metrics/classifier_training.h"
#include "progress.h"

namespace elit::app {
namespace {

struct TrainClassifierOptions {
  std::string out, data_dir = data::kFashionMnistDir, device = "cpu";
  metrics::ClassifierTrainOptions train;
};

void run(TrainClassifierOptions o) {
  start_command();
  if (o.out.empty()) o.out = metrics::default_classifier_path();
  o.train.device = parse_device(o.device);
  note("training the Fashion-MNIST classifier: " + std::to_string(o.train.epochs) +
       " epochs, batch " + std::to_string(o.train.batch_size) + ", seed " +
       std::to_string(o.train.seed) + ", at most " + format_duration(o.train.max_seconds));
  std::unique_ptr<Progress> bar;
  const double accuracy = metrics::train_default_classifier(
      o.out, o.train,
      [&](int64_t step, int64_t total, double loss) {
        if (!bar) bar = std::make_unique<Progress>("train-classifier", total, "step");
        bar->update(step, {{"loss", format_number(loss)}});
      },
      o.data_dir);
  if (bar) bar->finish();
  const auto meta = metrics::load_classifier(o.out).metadata;
  std::cout << "test accuracy " << accuracy << " (" << meta.at("steps") << " steps in "
            << meta.at("train_seconds") << " s) -> " << o.out << std::endl;
}

}  // namespace

void add_train_classifier_command(CLI::App& app) {
  auto o = std::make_shared<TrainClassifierOptions>();
  auto* cmd = app.add_subcommand(
      "train-classifier",
      "train the default Fashion-MNIST feature network (features for FD/PR/KID, logits for "
      "IS/CAS); fixed seed, bounded time");
  cmd->add_option(
      "--out", o->out,
      "weights file (default: $ELIT_CLASSIFIER or " + metrics::default_classifier_path() + ")");
  cmd->add_option("--epochs", o->train.epochs, "passes over the 60k training images")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->train.batch_size, "images per step")->capture_default_str();
  cmd->add_option("--lr", o->train.lr, "AdamW learning rate (cosine decay)")->capture_default_str();
  cmd->add_option("--seed", o->train.seed, "initialisation and shuffling seed")
      ->capture_default_str();
  cmd->add_option("--max-seconds", o->train.max_seconds,
                  "stop training after this many seconds (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--channels1", o->train.config.channels1, "first conv layer channels")
      ->capture_default_str();
  cmd->add_option("--channels2", o->train.config.channels2, "second conv layer channels")
      ->capture_default_str();
  cmd->add_option("--hidden", o->train.config.hidden, "feature size (penultimate layer)")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "Fashion-MNIST IDX folder")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace elit::app
