// Atomic checkpoint folders: a crash between writing and renaming leaves the previous checkpoint
// intact and no new one; leftovers are cleaned up.
#include <gtest/gtest.h>

#include <filesystem>

#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/train/checkpoint.h"
#include "support/reference.h"

namespace elit::train {
namespace {
namespace fs = std::filesystem;

void fill_with(const std::string& dir, const std::string& text) {
  write_file_atomically(dir + "/" + kTrainerStateFile, text);
  write_file_atomically(dir + "/" + kModelFile, text + "-weights");
}

TEST(Checkpoint, CrashBeforeRenameKeepsPrevious) {
  const auto dir = elit::testing::temp_dir("ckpt_crash");
  const auto first = commit_checkpoint(dir, 10, [](const std::string& t) { fill_with(t, "ten"); });
  EXPECT_EQ(fs::path(first).filename(), "0000010");
  EXPECT_EQ(latest_checkpoint(dir), 10);
  EXPECT_THROW(commit_checkpoint(
                   dir, 20, [](const std::string& t) { fill_with(t, "twenty"); },
                   [](const std::string&) { fail("simulated crash"); }),
               Error);
  EXPECT_EQ(latest_checkpoint(dir), 10);
  EXPECT_FALSE(fs::exists(fs::path(dir) / "0000020"));
  EXPECT_EQ(read_file(first + "/" + kTrainerStateFile), "ten");
  EXPECT_EQ(read_file(first + "/" + kModelFile), "ten-weights");
  // A crash inside fill leaves nothing behind either.
  EXPECT_THROW(commit_checkpoint(dir, 30, [](const std::string&) { fail("disk full"); }), Error);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "0000010");
}

TEST(Checkpoint, LatestIgnoresIncompleteAndCleansTemporaries) {
  const auto dir = elit::testing::temp_dir("ckpt_latest");
  commit_checkpoint(dir, 5, [](const std::string& t) { fill_with(t, "5"); });
  commit_checkpoint(dir, 12, [](const std::string& t) { fill_with(t, "12"); });
  fs::create_directories(fs::path(dir) / "0000099");       // no trainer_state.json
  fs::create_directories(fs::path(dir) / ".tmp-0000100");  // a crashed write
  EXPECT_EQ(latest_checkpoint(dir), 12);
  // A crash between moving a same-step checkpoint aside and the rename: it is put back.
  fs::rename(fs::path(dir) / "0000005", fs::path(dir) / ".old-0000005");
  EXPECT_EQ(remove_stale_checkpoint_temporaries(dir), 1);
  EXPECT_FALSE(fs::exists(fs::path(dir) / ".tmp-0000100"));
  EXPECT_EQ(read_file(dir + "/0000005/" + kTrainerStateFile), "5");
  // Rewriting a step replaces it completely.
  commit_checkpoint(dir, 12, [](const std::string& t) { fill_with(t, "12b"); });
  EXPECT_EQ(read_file(dir + "/0000012/" + kTrainerStateFile), "12b");
  EXPECT_EQ(latest_checkpoint(dir), 12);
}

}  // namespace
}  // namespace elit::train
