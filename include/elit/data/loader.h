// A background batch loader: worker threads assemble batches ahead of the trainer (prefetch),
// every epoch is a fresh seeded shuffle, and the position is one integer, so a resumed run reads
// exactly the batches an uninterrupted run would have read.
//
// Batch b of the run is batch (b mod P) of epoch (b div P), P = batches per epoch. Epoch e is the
// permutation of [0, N) drawn from (seed, e); rank r of W reads its positions r, r + W, ... of it
// (the published DistributedSampler layout); incomplete batches are dropped (drop_last, as
// published). Batches are handed out in order, whichever worker finished first.
#pragma once
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "elit/data/dataset.h"

namespace elit::data {

struct Batch {
  torch::Tensor x;       // float32 [B, C, H, W]
  torch::Tensor labels;  // int64 [B]
  int64_t index = 0;     // batch number in the run
  int64_t epoch = 0;
};

struct LoaderOptions {
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int workers = 2;   // 0: batches are built on the caller's thread
  int prefetch = 4;  // batches built ahead of the consumer
  bool shuffle = true;
  int rank = 0, world_size = 1;
};

// The order of epoch `epoch`: a permutation of [0, n) (identity without shuffling).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

class DataLoader {
 public:
  // Starts at run batch `start_batch` (the saved position when resuming).
  DataLoader(DatasetPtr dataset, LoaderOptions options, int64_t start_batch = 0);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch; rethrows a worker's error (e.g. an unreadable image).
  Batch next();
  // Batches handed out so far (including the start offset): the resume position.
  int64_t position() const { return next_; }
  int64_t batches_per_epoch() const { return per_epoch_; }

 private:
  Batch build(int64_t batch) const;
  void work();
  const std::vector<int64_t>& order(int64_t epoch) const;  // caller holds mutex_

  DatasetPtr dataset_;
  LoaderOptions options_;
  int64_t per_epoch_ = 0, next_ = 0, claimed_ = 0;
  bool stop_ = false;
  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<int64_t, Batch> done_;
  std::map<int64_t, std::exception_ptr> errors_;
  mutable std::map<int64_t, std::vector<int64_t>> orders_;  // recent epochs
  std::vector<std::thread> threads_;
};

}  // namespace elit::data
