// The fuzz targets' seed corpora (fuzz/corpus/<target>/): small valid files made by the project's
// own writers. This test checks that every committed seed is accepted by its parser, so fuzzing
// starts from inputs that reach deep into each format. With ELIT_WRITE_FUZZ_SEEDS=1 it first
// (re)writes the seeds into the source tree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config_file.h"
#include "elit/data/idx_file.h"
#include "elit/io/image.h"
#include "elit/io/npz.h"
#include "elit/io/pickle.h"
#include "elit/io/safetensors.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/gzip.h"
#include "elit/runtime/strict_json.h"
#include "elit/serve/request.h"
#include "elit/text/tokenizer.h"
#include "support/hostile_bytes.h"
#include "support/reference.h"

namespace elit::io {
namespace {
namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(ELIT_SOURCE_DIR) / "fuzz" / "corpus";

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(kCorpus / target);
  std::ofstream(kCorpus / target / name, std::ios::binary) << bytes;
}

std::string npz_bytes(const std::map<std::string, torch::Tensor>& arrays) {
  const auto path = elit::testing::temp_dir("fuzz_seeds") + "/a.npz";
  write_npz(path, arrays);
  return read_file(path);
}

std::string idx_bytes(const torch::Tensor& images) {  // uint8 [N, H, W]
  std::string out("\x00\x00\x08", 3);
  out.push_back(static_cast<char>(images.dim()));
  for (int64_t d : images.sizes()) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(d >> shift));
  }
  const auto c = images.contiguous();
  return out + std::string(static_cast<const char*>(c.data_ptr()), c.numel());
}

void write_seeds() {
  torch::manual_seed(0);
  const auto small = torch::randn({2, 3});
  put("safetensors", "two_tensors",
      serialize_safetensors({{"w", small}, {"n", torch::arange(4, torch::kInt64)}},
                            {{"elit.model_config", R"({"model":"SiT-S/2","depth":2})"}}));
  put("safetensors", "empty_tensor", serialize_safetensors({{"e", torch::zeros({0, 4})}}));
  put("npy", "float_2d", serialize_npy(small));
  put("npy", "uint8_images", serialize_npy(torch::randint(0, 255, {2, 4, 4, 1}, torch::kUInt8)));
  put("npy", "int64_labels", serialize_npy(torch::arange(5, torch::kInt64)));
  put("zip", "samples_npz",
      npz_bytes({{"arr_0", torch::zeros({2, 4, 4, 1}, torch::kUInt8)},
                 {"arr_1", torch::arange(2, torch::kInt64)}}));
  const std::string text = serialize_npy(small);
  put("zip", "deflated_entry",
      testing::one_entry_zip("arr_0.npy", testing::deflate_stored(text), 8, text.size(),
                             crc32_of(text)));
  // pickle.dumps({'a': [1, 2.5, 'x', None, True], 'b': (300, -5)}, protocol=2)
  put("pickle", "plain_dict",
      std::string(
          "\x80\x02\x7d\x71\x00\x28\x58\x01\x00\x00\x00\x61\x71\x01\x5d\x71\x02\x28\x4b\x01\x47\x40"
          "\x04\x00\x00\x00\x00\x00\x00\x58\x01\x00\x00\x00\x78\x71\x03\x4e\x88\x65\x58\x01\x00\x00"
          "\x00\x62\x71\x04\x4d\x2c\x01\x4a\xfb\xff\xff\xff\x86\x71\x05\x75\x2e",
          61));
  const auto ref = elit::testing::reference_dir_candidate() + "/published_format_checkpoint.pt";
  if (fs::exists(ref)) {  // a real torch.save pickle: OrderedDicts, storages, rebuild calls
    ZipReader zip(ref);
    for (const auto& name : zip.names()) {
      if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0) {
        put("pickle", "torch_save_data_pkl", zip.read(name));
      }
    }
  }
  const auto images = torch::randint(0, 255, {2, 5, 5}, torch::kUInt8);
  put("idx", "images_idx3", idx_bytes(images));
  put("idx", "images_idx3_gz", testing::gzip_stored(idx_bytes(images)));
  put("gzip", "text_gz", testing::gzip_stored("elit gzip seed\n"));
  const auto png = elit::testing::temp_dir("fuzz_seeds") + "/a.png";
  write_png(png, torch::randint(0, 255, {4, 3, 3}, torch::kUInt8));
  put("image", "rgb_png", read_file(png));
  write_png(png, torch::randint(0, 255, {2, 5, 1}, torch::kUInt8));
  put("image", "grey_png", read_file(png));
  for (const char* config : {"configs/fmnist_elit_s4.yaml", "configs/fmnist_sit_s4.yaml"}) {
    const auto path = fs::path(ELIT_SOURCE_DIR) / config;
    if (fs::exists(path)) put("config", path.filename().string(), read_file(path.string()));
  }
  put("config", "model_json", R"({"model": "ELIT-SiT-S/2", "depth": 4, "hidden_size": 64})");
  put("tokenizer", "captions", "a photo of a t-shirt/top\0a photo of an ankle boot\0");
}

// Each target's parser accepts its seeds.
void parse_seed(const std::string& target, const std::string& bytes, const std::string& path) {
  if (target == "safetensors") parse_safetensors(bytes, path);
  if (target == "npy") parse_npy(bytes, path);
  if (target == "zip") ZipReader(path).names();
  if (target == "pickle") {  // storages resolve to empty ones: only the pickle is parsed here
    unpickle(
        bytes,
        [](const PyRef&) {
          auto storage = std::make_shared<PyValue>();
          storage->kind = PyValue::Kind::Storage;
          return storage;
        },
        path);
  }
  if (target == "idx") data::parse_idx(bytes, path);
  if (target == "gzip") gunzip(bytes, path);
  if (target == "image") decode_image(bytes, path);
  if (target == "request") {  // the server's request bodies, checked as fuzz/request_fuzz.cpp does
    serve::RequestLimits limits;
    limits.spec.elit = true;
    limits.spec.num_classes = 10;
    limits.spec.tokens_per_group = 4;
    for (int i = 0; i < 10; ++i) limits.class_names.push_back("class" + std::to_string(i));
    limits.check_prompt = [](const std::string&) {};
    serve::parse_generate_request(bytes, limits);
  }
  if (target == "config") {
    const bool yaml = path.size() > 5 && path.substr(path.size() - 5) == ".yaml";
    yaml ? app::yaml_to_json(bytes, path) : parse_json_strictly(bytes, path);
  }
}

TEST(FuzzSeeds, EveryCommittedSeedParses) {
  const char* write = std::getenv("ELIT_WRITE_FUZZ_SEEDS");
  if (write && std::string(write) == "1") write_seeds();
  ASSERT_TRUE(fs::is_directory(kCorpus)) << kCorpus;
  int seeds = 0;
  for (const auto& target : fs::directory_iterator(kCorpus)) {
    for (const auto& seed : fs::directory_iterator(target.path())) {
      const auto path = seed.path().string();
      EXPECT_NO_THROW(parse_seed(target.path().filename().string(), read_file(path), path)) << path;
      ++seeds;
    }
  }
  EXPECT_GE(seeds, 15);
}

}  // namespace
}  // namespace elit::io
