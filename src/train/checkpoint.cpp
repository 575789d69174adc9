#include "elit/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "elit/runtime/error.h"

namespace elit::train {
namespace fs = std::filesystem;
namespace {

void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort on file systems that refuse it
  ::fsync(fd);
  ::close(fd);
}

bool is_step_name(const std::string& name) {
  // At most 18 digits: every such name is a step that fits int64 (stoll cannot throw).
  return name.size() >= 7 && name.size() <= 18 &&
         name.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "%07lld", static_cast<long long>(step));
  return name;
}

std::string commit_checkpoint(const std::string& checkpoints_dir, int64_t step,
                              const std::function<void(const std::string&)>& fill,
                              const std::function<void(const std::string&)>& before_rename) {
  const fs::path dir(checkpoints_dir);
  fs::create_directories(dir);
  const fs::path final_dir = dir / checkpoint_name(step);
  const fs::path tmp = dir / (".tmp-" + checkpoint_name(step));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    fill(tmp.string());
    for (const auto& e : fs::directory_iterator(tmp)) fsync_path(e.path(), false);
    fsync_path(tmp, true);
    if (before_rename) before_rename(tmp.string());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  // rename() cannot replace a non-empty folder: move an old checkpoint of this step aside first.
  const fs::path old = dir / (".old-" + checkpoint_name(step));
  if (fs::exists(final_dir)) {
    fs::remove_all(old);
    fs::rename(final_dir, old);
  }
  std::error_code error;
  fs::rename(tmp, final_dir, error);
  check(!error, "cannot move checkpoint '", tmp.string(), "' to '", final_dir.string(),
        "': ", error.message());
  fsync_path(dir, true);
  fs::remove_all(old);
  return final_dir.string();
}

std::optional<int64_t> latest_checkpoint(const std::string& checkpoints_dir) {
  std::optional<int64_t> best;
  if (!fs::is_directory(checkpoints_dir)) return best;
  for (const auto& e : fs::directory_iterator(checkpoints_dir)) {
    const auto name = e.path().filename().string();
    if (!e.is_directory() || !is_step_name(name)) continue;
    if (!fs::exists(e.path() / kTrainerStateFile)) continue;
    const int64_t step = std::stoll(name);
    if (!best || step > *best) best = step;
  }
  return best;
}

int remove_stale_checkpoint_temporaries(const std::string& checkpoints_dir) {
  int removed = 0;
  if (!fs::is_directory(checkpoints_dir)) return removed;
  std::vector<fs::path> entries;  // collected first: the loop renames entries
  for (const auto& e : fs::directory_iterator(checkpoints_dir)) entries.push_back(e.path());
  for (const auto& path : entries) {
    const auto name = path.filename().string();
    if (name.rfind(".old-", 0) == 0 && !fs::exists(path.parent_path() / name.substr(5))) {
      // A crash between moving a same-step checkpoint aside and renaming its replacement: the
      // old one is the only complete copy, so put it back.
      fs::rename(path, path.parent_path() / name.substr(5));
    } else if (name.rfind(".tmp-", 0) == 0 || name.rfind(".old-", 0) == 0) {
      fs::remove_all(path);
      ++removed;
    }
  }
  return removed;
}

}  // namespace elit::train
