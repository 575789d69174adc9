#include "elit/data/loader.h"

#include <random>

#include "elit/runtime/error.h"

namespace elit::data {

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  // Fisher-Yates with our own bounded draws: std::shuffle's use of the engine is
  // implementation-defined, and the order must be the same everywhere for resumes.
  std::mt19937_64 rng(example_seed(seed, epoch, -1));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t range = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t r;
    do r = rng();
    while (r >= limit);
    std::swap(order[i], order[static_cast<int64_t>(r % range)]);
  }
  return order;
}

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions options, int64_t start_batch)
    : dataset_(std::move(dataset)), options_(options), next_(start_batch), claimed_(start_batch) {
  const auto& o = options_;
  check(o.batch_size > 0, "batch_size must be > 0, got ", o.batch_size);
  check(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size, "bad rank ", o.rank, " of ",
        o.world_size);
  check(start_batch >= 0, "loader start position must be >= 0, got ", start_batch);
  const int64_t per_rank = dataset_->size() / o.world_size;
  per_epoch_ = per_rank / o.batch_size;
  check(per_epoch_ > 0, "dataset '", dataset_->info().name, "' has ", dataset_->size(),
        " examples: fewer than one batch of ", o.batch_size, " per process (", o.world_size,
        " processes)");
  for (int i = 0; i < o.workers; ++i) threads_.emplace_back([this] { work(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_.notify_all();
  for (auto& t : threads_) t.join();
}

const std::vector<int64_t>& DataLoader::order(int64_t epoch) const {
  auto it = orders_.find(epoch);
  if (it != orders_.end()) return it->second;
  while (orders_.size() >= 3) orders_.erase(orders_.begin());  // workers span <= 2 epochs
  return orders_[epoch] = epoch_order(dataset_->size(), options_.seed, epoch, options_.shuffle);
}

Batch DataLoader::build(int64_t batch) const {
  const auto& o = options_;
  const int64_t epoch = batch / per_epoch_, in_epoch = batch % per_epoch_;
  std::vector<int64_t> indices(o.batch_size);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto& perm = order(epoch);
    for (int64_t i = 0; i < o.batch_size; ++i) {
      indices[i] = perm[(in_epoch * o.batch_size + i) * o.world_size + o.rank];
    }
  }
  std::vector<torch::Tensor> xs;
  std::vector<int64_t> labels;
  for (const int64_t index : indices) {
    auto e = dataset_->get(index, example_seed(o.seed, epoch, index));
    xs.push_back(std::move(e.x));
    labels.push_back(e.label);
  }
  return {torch::stack(xs), torch::tensor(labels, torch::kInt64), batch, epoch};
}

void DataLoader::work() {
  for (;;) {
    int64_t batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [this] { return stop_ || claimed_ < next_ + options_.prefetch; });
      if (stop_) return;
      batch = claimed_++;
    }
    Batch result;
    std::exception_ptr error;
    try {
      result = build(batch);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        errors_[batch] = error;
      } else {
        done_[batch] = std::move(result);
      }
    }
    ready_.notify_all();
  }
}

Batch DataLoader::next() {
  if (threads_.empty()) return build(next_++);
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [this] { return done_.count(next_) || errors_.count(next_); });
  if (errors_.count(next_)) std::rethrow_exception(errors_.at(next_));
  Batch out = std::move(done_.at(next_));
  done_.erase(next_++);
  lock.unlock();
  space_.notify_all();
  return out;
}

}  // namespace elit::data
