// The default feature network: input placement, weights files, training, CAS.
#include <gtest/gtest.h>

#include <filesystem>

#include "elit/io/safetensors.h"
#include "elit/metrics/classifier_training.h"
#include "elit/runtime/error.h"
#include "metrics/synthetic_images.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::metrics {
namespace {

using elit::testing::error_of;

ClassifierTrainOptions quick_options() {
  ClassifierTrainOptions o;
  o.config.channels1 = 8, o.config.channels2 = 16, o.config.hidden = 32;
  o.epochs = 4, o.batch_size = 25, o.lr = 3e-3, o.max_seconds = 120;
  return o;
}

TEST(ClassifierInput, UndoesModelSpacePaddingAndAveragesRgb) {
  const auto images = torch::randint(0, 256, {3, 28, 28, 1}).to(torch::kUInt8);
  auto padded = torch::zeros({3, 32, 32, 1}, torch::kUInt8);
  padded.slice(1, 2, 30).slice(2, 2, 30).copy_(images);
  const auto expected = images.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1;
  EXPECT_TRUE(classifier_input(padded).equal(expected));
  EXPECT_TRUE(classifier_input(images.squeeze(3)).equal(expected));  // [N, H, W] grey
  EXPECT_TRUE(classifier_input(images.expand({-1, -1, -1, 3})).allclose(expected, 0, 1e-6));
  const auto small = classifier_input(torch::full({2, 14, 14, 1}, 255, torch::kUInt8));
  EXPECT_EQ(small.sizes(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_TRUE(small.allclose(torch::ones_like(small)));
  EXPECT_NE(error_of([] {
              classifier_input(torch::zeros({2, 28, 28, 1}));
            }).find("uint8"),
            std::string::npos);
}

TEST(Classifier, TrainsSavesLoadsAndScoresCas) {
  const auto train = testing::bar_images(500, 1), test = testing::bar_images(200, 2);
  const auto o = quick_options();
  const auto r = train_classifier(train.images, train.labels, o);
  EXPECT_EQ(r.steps, 4 * 20);
  auto model = r.model;
  const double accuracy = classifier_accuracy(model, test.images, test.labels);
  EXPECT_GT(accuracy, 0.9);

  const auto path = elit::testing::temp_dir("classifier") + "/clf.safetensors";
  save_classifier(path, model, {{"test_accuracy", "0.5"}});
  auto loaded = load_classifier(path);
  EXPECT_EQ(loaded.metadata.at("test_accuracy"), "0.5");
  EXPECT_EQ(loaded.model->config().hidden, 32);
  torch::NoGradGuard no_grad;
  const auto x = classifier_input(test.images);
  EXPECT_TRUE(loaded.model->forward(x).equal(model->forward(x)));
  ClassifierFeatures net(loaded.model, "test");
  const auto f = net.extract(test.images);
  EXPECT_EQ(f.features.sizes(), (std::vector<int64_t>{200, 32}));
  EXPECT_TRUE(f.probs.sum(1).allclose(torch::ones({200}, torch::kFloat64)));

  // The same training on "generated" samples, tested on real data, is the CAS.
  const auto cas =
      classification_accuracy_score(train.images, train.labels, test.images, test.labels, o);
  EXPECT_EQ(cas.accuracy, accuracy);  // fixed seed: same model as above
  EXPECT_EQ(cas.train_count, 500);
  const auto one_class = torch::zeros({500}, torch::kInt64);
  EXPECT_NE(error_of([&] {
              classification_accuracy_score(train.images, one_class, test.images, test.labels, o);
            }).find("every one of the 10 classes"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              train_classifier(train.images, train.labels.slice(0, 0, 10), o);
            }).find("labels must be [N]"),
            std::string::npos);
}

TEST(Classifier, LoadOrTrainUsesAnExistingFileAndRejectsOtherFiles) {
  const auto dir = elit::testing::temp_dir("classifier_load");
  FashionClassifier model(ClassifierConfig{});
  save_classifier(dir + "/c.safetensors", model);
  bool trained = false;
  auto loaded = load_or_train_default_classifier(dir + "/c.safetensors", {}, {},
                                                 [&](const std::string&) { trained = true; });
  EXPECT_FALSE(trained);
  EXPECT_EQ(loaded.model->config().hidden, 128);
  io::write_safetensors(dir + "/other.safetensors", {{"x", torch::zeros({2})}});
  EXPECT_NE(
      error_of([&] { load_classifier(dir + "/other.safetensors"); }).find("not an elit classifier"),
      std::string::npos);
  setenv("ELIT_CLASSIFIER", "/some/where.safetensors", 1);
  EXPECT_EQ(default_classifier_path(), "/some/where.safetensors");
  unsetenv("ELIT_CLASSIFIER");
  EXPECT_NE(default_classifier_path().find("fashion_mnist_classifier.safetensors"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::metrics
