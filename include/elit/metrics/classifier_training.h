// Training the default Fashion-MNIST classifier (fixed seed, bounded time), loading it or training
// it when missing, and the Classification Accuracy Score (CAS, Ravuri & Vinyals 2019): a
// classifier trained on generated class-conditional samples, tested on real test data.
#pragma once
#include <functional>
#include <string>

#include "elit/metrics/classifier.h"

namespace elit::metrics {

struct ClassifierTrainOptions {
  int64_t epochs = 3;  // 91.3% test accuracy with the default config and seed
  int64_t batch_size = 128;
  double lr = 2e-3;  // AdamW, cosine decay to 0 over the planned steps
  double weight_decay = 1e-4;
  uint64_t seed = 0;
  double max_seconds = 600;  // training stops after this long (0: no limit); always >= 1 step
  torch::Device device = torch::kCPU;
  ClassifierConfig config;
};

struct ClassifierTrainResult {
  FashionClassifier model{nullptr};
  int64_t steps = 0, planned_steps = 0;
  double seconds = 0;
  double train_loss = 0;       // mean over the last 100 steps
  bool stopped_early = false;  // max_seconds reached
};

// (step, total steps, running loss) after every step.
using TrainCallback = std::function<void(int64_t step, int64_t total, double loss)>;

// images: uint8 [N, H, W(, C)], labels: int64 [N] in [0, classes).
ClassifierTrainResult train_classifier(const torch::Tensor& images, const torch::Tensor& labels,
                                       const ClassifierTrainOptions& o,
                                       const TrainCallback& callback = {});

// Top-1 accuracy in [0, 1] of the model on uint8 images and their labels.
double classifier_accuracy(FashionClassifier& model, const torch::Tensor& images,
                           const torch::Tensor& labels, const torch::Device& device = torch::kCPU);

// Where the default classifier lives: $ELIT_CLASSIFIER, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/elit/fashion_mnist_classifier.safetensors.
std::string default_classifier_path();

// Trains on the Fashion-MNIST train split, tests on the test split, and saves the weights with
// the accuracy, training time and options in the metadata. Returns the test accuracy.
double train_default_classifier(const std::string& path, const ClassifierTrainOptions& o,
                                const TrainCallback& callback = {},
                                const std::string& dataset_dir = "");

// The main job's entry point: loads `path` (default_classifier_path() when empty), training and
// saving it first (bounded by o.max_seconds) when the file does not exist. `note` hears what
// happened ("training the default classifier ...").
LoadedClassifier load_or_train_default_classifier(
    const std::string& path = "", const ClassifierTrainOptions& o = {},
    const TrainCallback& callback = {}, const std::function<void(const std::string&)>& note = {});

struct CasResult {
  double accuracy = 0;  // on the real test data
  int64_t train_count = 0, test_count = 0, steps = 0;
  double seconds = 0;
};

// CAS: trains a fresh classifier (same architecture and options) on generated images with their
// class labels and reports its accuracy on the real test images. Needs every class present.
CasResult classification_accuracy_score(const torch::Tensor& samples,
                                        const torch::Tensor& sample_labels,
                                        const torch::Tensor& test_images,
                                        const torch::Tensor& test_labels,
                                        const ClassifierTrainOptions& o,
                                        const TrainCallback& callback = {});

}  // namespace elit::metrics
