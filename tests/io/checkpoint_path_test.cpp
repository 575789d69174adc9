// --ckpt resolution: model files, checkpoint folders, run folders; data space detection.
#include "elit/io/checkpoint_path.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {
namespace fs = std::filesystem;

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  write_file_atomically(p.string(), "x");
}

TEST(CheckpointPath, FilesCheckpointFoldersAndRunFolders) {
  const fs::path run = testing::temp_dir("ckpt_path");
  touch(run / "checkpoints" / "0000100" / "ema.safetensors");
  touch(run / "checkpoints" / "0002000" / "ema.safetensors");
  touch(run / "checkpoints" / "0000900" / "ema.safetensors");
  touch(run / "checkpoints" / "0005000" / "model.safetensors");  // no EMA yet: skipped
  touch(run / "checkpoints" / "latest" / "ema.safetensors");     // not a step: skipped
  const auto latest = (run / "checkpoints" / "0002000" / "ema.safetensors").string();
  EXPECT_EQ(resolve_model_path(run.string()), latest);
  EXPECT_EQ(resolve_model_path((run / "checkpoints" / "0000100").string()),
            (run / "checkpoints" / "0000100" / "ema.safetensors").string());
  EXPECT_EQ(resolve_model_path(latest), latest);
}

TEST(CheckpointPath, MissingThingsAreClearErrors) {
  const fs::path dir = testing::temp_dir("ckpt_missing");
  auto error = [](const std::string& p) {
    try {
      resolve_model_path(p);
    } catch (const elit::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error((dir / "nope.safetensors").string()).find("does not exist"), std::string::npos);
  EXPECT_NE(error(dir.string()).find("neither a checkpoint"), std::string::npos);
  fs::create_directories(dir / "checkpoints" / "0000010");
  EXPECT_NE(error(dir.string()).find("no checkpoints/<step>/ema.safetensors"), std::string::npos);
  EXPECT_NE(error("").find("no model given"), std::string::npos);
}

TEST(CheckpointPath, DataSpaceFromMetadataElseChannels) {
  ModelFile f;
  EXPECT_EQ(model_data_space(f, 3), "pixels");
  EXPECT_EQ(model_data_space(f, 1), "pixels");
  EXPECT_EQ(model_data_space(f, 4), "latents");
  f.metadata[kDataSpaceKey] = "latents";
  EXPECT_EQ(model_data_space(f, 3), "latents");
  f.metadata[kDataSpaceKey] = "pixels";
  EXPECT_EQ(model_data_space(f, 4), "pixels");
  f.metadata[kDataSpaceKey] = "voxels";
  EXPECT_THROW(model_data_space(f, 4), elit::Error);
}

}  // namespace
}  // namespace elit::io
