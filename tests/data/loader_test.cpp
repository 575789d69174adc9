// The background loader: seeded per-epoch shuffles, the same batches whatever the worker count,
// resumable from its position, disjoint rank shards.
#include "elit/data/loader.h"

#include <gtest/gtest.h>

#include <set>

#include "elit/runtime/error.h"

namespace elit::data {
namespace {

// Example i is a [1, 2, 2] tensor filled with i (+ a seed-driven jitter), label i % 3.
class CountingDataset : public Dataset {
 public:
  explicit CountingDataset(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {
    info_.name = "counting";
    info_.channels = 1;
    info_.height = info_.width = 2;
    info_.num_classes = 3;
  }
  int64_t size() const override { return n_; }
  Example get(int64_t index, uint64_t seed) const override {
    if (index == fail_at_) elit::fail("cannot decode image 'bad.png'");
    return {torch::full({1, 2, 2}, static_cast<float>(index) + 0.001f * uniform_from_seed(seed)),
            index % 3};
  }
  const DatasetInfo& info() const override { return info_; }

 private:
  int64_t n_, fail_at_;
  DatasetInfo info_;
};

std::vector<int64_t> ids(const Batch& b) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < b.x.size(0); ++i)
    out.push_back(static_cast<int64_t>(b.x[i][0][0][0].item<float>()));
  return out;
}

TEST(Loader, EpochIsPermutationAndEpochsDiffer) {
  const auto a = epoch_order(100, 7, 0, true), b = epoch_order(100, 7, 1, true);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 100u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, epoch_order(100, 7, 0, true));
  EXPECT_NE(a, epoch_order(100, 8, 0, true));
  EXPECT_EQ(epoch_order(5, 7, 3, false), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Loader, SameBatchesWhateverTheWorkersAndResumable) {
  auto ds = std::make_shared<CountingDataset>(50);
  LoaderOptions o;
  o.batch_size = 8;  // 6 batches per epoch, 2 examples dropped
  o.seed = 3;
  o.workers = 0;
  DataLoader sync(ds, o);
  std::vector<Batch> want;
  for (int i = 0; i < 20; ++i) want.push_back(sync.next());
  EXPECT_EQ(sync.position(), 20);
  std::set<int64_t> epoch0;
  for (int i = 0; i < 6; ++i) {
    for (auto id : ids(want[i])) EXPECT_TRUE(epoch0.insert(id).second) << "repeated " << id;
    EXPECT_EQ(want[i].epoch, 0);
  }
  EXPECT_EQ(want[6].epoch, 1);
  o.workers = 3;
  o.prefetch = 5;
  DataLoader threaded(ds, o);
  for (int i = 0; i < 20; ++i) {
    auto b = threaded.next();
    EXPECT_TRUE(torch::equal(b.x, want[i].x)) << "batch " << i;
    EXPECT_TRUE(torch::equal(b.labels, want[i].labels));
  }
  DataLoader resumed(ds, o, /*start_batch=*/13);
  for (int i = 13; i < 20; ++i) EXPECT_TRUE(torch::equal(resumed.next().x, want[i].x));
}

TEST(Loader, RanksReadDisjointShards) {
  auto ds = std::make_shared<CountingDataset>(40);
  std::set<int64_t> seen;
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions o;
    o.batch_size = 5;
    o.seed = 1;
    o.workers = 1;
    o.rank = rank;
    o.world_size = 2;
    DataLoader loader(ds, o);
    EXPECT_EQ(loader.batches_per_epoch(), 4);
    for (int i = 0; i < 4; ++i) {
      for (auto id : ids(loader.next())) EXPECT_TRUE(seen.insert(id).second);
    }
  }
  EXPECT_EQ(seen.size(), 40u);
}

TEST(Loader, WorkerErrorsReachTheCaller) {
  auto ds = std::make_shared<CountingDataset>(16, /*fail_at=*/5);
  LoaderOptions o;
  o.batch_size = 16;
  o.workers = 2;
  DataLoader loader(ds, o);
  try {
    loader.next();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.png"), std::string::npos);
  }
  o.batch_size = 17;
  EXPECT_THROW(DataLoader(ds, o), Error);  // fewer examples than one batch
}

}  // namespace
}  // namespace elit::data
