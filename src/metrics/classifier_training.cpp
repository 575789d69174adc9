#include "elit/metrics/classifier_training.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "elit/data/fashion_mnist.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_labelled(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes,
                    const char* what) {
  as_nhwc_images(images, what);
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == images.size(0), what,
        ": labels must be [N] with N = ", images.size(0), " images, got ",
        labels.defined() ? labels.sizes() : c10::IntArrayRef{});
  check(!c10::isFloatingType(labels.scalar_type()), what, ": labels must be integers, got ",
        c10::toString(labels.scalar_type()));
  check(labels.numel() == 0 ||
            (labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < classes),
        what, ": labels must lie in [0, ", classes, ")");
}

}  // namespace

ClassifierTrainResult train_classifier(const torch::Tensor& images, const torch::Tensor& labels,
                                       const ClassifierTrainOptions& o,
                                       const TrainCallback& callback) {
  check_labelled(images, labels, o.config.classes, "classifier training data");
  torch::AutoGradMode grad(true);  // also when the caller holds a NoGradGuard
  check(o.epochs > 0 && o.batch_size > 0 && o.lr > 0, "classifier training needs epochs, ",
        "batch size and learning rate > 0");
  const auto x = classifier_input(images, o.config.image_size);
  const auto y = labels.to(torch::kInt64);
  const int64_t n = x.size(0), per_epoch = (n + o.batch_size - 1) / o.batch_size;
  torch::manual_seed(o.seed);  // fixed initialisation
  ClassifierTrainResult r;
  r.model = FashionClassifier(o.config);
  r.model->to(o.device);
  r.model->train();
  torch::optim::AdamW opt(r.model->parameters(),
                          torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  r.planned_steps = per_epoch * o.epochs;
  auto gen = at::detail::createCPUGenerator(o.seed);
  const auto start = Clock::now();
  std::vector<double> recent;
  for (int64_t epoch = 0; epoch < o.epochs && !r.stopped_early; ++epoch) {
    const auto order = torch::randperm(n, gen, torch::kLong);
    for (int64_t b = 0; b < per_epoch; ++b) {
      const auto idx = order.slice(0, b * o.batch_size, std::min((b + 1) * o.batch_size, n));
      // Cosine decay of the learning rate over the planned steps.
      const double lr = 0.5 * o.lr * (1 + std::cos(M_PI * r.steps / r.planned_steps));
      for (auto& group : opt.param_groups()) group.options().set_lr(lr);
      const auto logits = r.model->forward(x.index_select(0, idx).to(o.device));
      auto loss = torch::cross_entropy_loss(logits, y.index_select(0, idx).to(o.device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      ++r.steps;
      recent.push_back(loss.item<double>());
      if (recent.size() > 100) recent.erase(recent.begin());
      if (callback) callback(r.steps, r.planned_steps, loss.item<double>());
      if (o.max_seconds > 0 && seconds_since(start) > o.max_seconds) {
        r.stopped_early = true;
        break;
      }
    }
  }
  r.seconds = seconds_since(start);
  for (double l : recent) r.train_loss += l / static_cast<double>(recent.size());
  r.model->eval();
  return r;
}

double classifier_accuracy(FashionClassifier& model, const torch::Tensor& images,
                           const torch::Tensor& labels, const torch::Device& device) {
  check_labelled(images, labels, model->config().classes, "classifier test data");
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  const int64_t n = images.size(0);
  for (int64_t b = 0; b < n; b += 1000) {
    const auto x =
        classifier_input(images.slice(0, b, std::min(b + 1000, n)), model->config().image_size);
    const auto pred = model->forward(x.to(device)).argmax(1).cpu();
    correct +=
        pred.eq(labels.slice(0, b, b + pred.size(0)).to(torch::kInt64)).sum().item<int64_t>();
  }
  return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

std::string default_classifier_path() {
  if (const char* env = std::getenv("ELIT_CLASSIFIER"); env && *env) return env;
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = std::filesystem::path(home) / ".cache";
  } else {
    base = ".";
  }
  return (base / "elit" / "fashion_mnist_classifier.safetensors").string();
}

double train_default_classifier(const std::string& path, const ClassifierTrainOptions& o,
                                const TrainCallback& callback, const std::string& dataset_dir) {
  const auto dir = dataset_dir.empty() ? std::string(data::kFashionMnistDir) : dataset_dir;
  const auto train = data::load_fashion_mnist("train", dir);
  const auto test = data::load_fashion_mnist("test", dir);
  auto r = train_classifier(train.images, train.labels, o, callback);
  const double accuracy = classifier_accuracy(r.model, test.images, test.labels, o.device);
  std::ostringstream acc, secs;
  acc.precision(6), secs.precision(4);
  acc << accuracy, secs << r.seconds;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  save_classifier(path, r.model,
                  {{"dataset", "fashion-mnist"},
                   {"test_accuracy", acc.str()},
                   {"train_seconds", secs.str()},
                   {"steps", std::to_string(r.steps)},
                   {"planned_steps", std::to_string(r.planned_steps)},
                   {"epochs", std::to_string(o.epochs)},
                   {"batch_size", std::to_string(o.batch_size)},
                   {"seed", std::to_string(o.seed)}});
  return accuracy;
}

LoadedClassifier load_or_train_default_classifier(
    const std::string& path, const ClassifierTrainOptions& o, const TrainCallback& callback,
    const std::function<void(const std::string&)>& note) {
  const std::string file = path.empty() ? default_classifier_path() : path;
  if (!std::filesystem::exists(file)) {
    if (note)
      note("default classifier '" + file + "' not found; training it (at most " +
           std::to_string(static_cast<int64_t>(o.max_seconds)) + " s)");
    const double accuracy = train_default_classifier(file, o, callback);
    if (note) note("classifier test accuracy " + std::to_string(accuracy) + " -> " + file);
  }
  return load_classifier(file, o.device);
}

CasResult classification_accuracy_score(const torch::Tensor& samples,
                                        const torch::Tensor& sample_labels,
                                        const torch::Tensor& test_images,
                                        const torch::Tensor& test_labels,
                                        const ClassifierTrainOptions& o,
                                        const TrainCallback& callback) {
  check_labelled(samples, sample_labels, o.config.classes, "CAS samples");
  const auto counts = torch::bincount(sample_labels.to(torch::kInt64), {}, o.config.classes);
  check((counts > 0).all().item<bool>(), "CAS needs generated samples of every one of the ",
        o.config.classes, " classes; per-class counts are ", counts);
  auto r = train_classifier(samples, sample_labels, o, callback);
  CasResult cas;
  cas.accuracy = classifier_accuracy(r.model, test_images, test_labels, o.device);
  cas.train_count = samples.size(0);
  cas.test_count = test_images.size(0);
  cas.steps = r.steps;
  cas.seconds = r.seconds;
  return cas;
}

}  // namespace elit::metrics
