#include "elit/data/dataset.h"

#include <iostream>

#include "elit/data/fashion_mnist.h"
#include "elit/data/image_folder.h"
#include "elit/data/latent_shards.h"
#include "elit/runtime/error.h"
#include "elit/runtime/splitmix64.h"

namespace elit::data {

uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^
                    static_cast<uint64_t>(index));
}

double uniform_from_seed(uint64_t seed) {
  return static_cast<double>(splitmix64(seed) >> 11) * 0x1.0p-53;  // 53 random bits
}

DatasetPtr make_dataset(const DatasetOptions& options) {
  auto o = options;
  if (!o.warn) o.warn = [](const std::string& m) { std::cerr << "warning: " << m << std::endl; };
  if (o.kind == "fashion_mnist") return std::make_shared<FashionMnistDataset>(o);
  if (o.kind == "image_folder") return std::make_shared<ImageFolderDataset>(o);
  if (o.kind == "latents") return std::make_shared<LatentShardDataset>(o);
  fail("unknown dataset '", o.kind, "' (expected fashion_mnist, image_folder or latents)");
}

}  // namespace elit::data
