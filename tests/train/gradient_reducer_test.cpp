// Gradient buckets are all-reduced while backward runs: they start in index order as they fill,
// the result is the mean over ranks in every .grad (micro-batches included), and a parameter
// without a gradient waits for finish() without stalling the ranks' order.
#include "elit/train/gradient_reducer.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

namespace elit::train {
namespace {

// Two ranks where the peer's gradient is this rank's plus `peer_offset`; sums complete on wait.
class FakePairCommunicator : public LocalCommunicator {
 public:
  explicit FakePairCommunicator(double peer_offset = 0) : peer_offset_(peer_offset) {}
  int world_size() const override { return 2; }
  std::function<void()> start_all_reduce_sum(torch::Tensor flat) override {
    started.push_back(flat.numel());
    return [this, flat]() mutable {
      flat.mul_(2).add_(peer_offset_);
      ++waited;
    };
  }
  std::vector<int64_t> started;  // numel of every bucket, in start order
  int waited = 0;

 private:
  double peer_offset_;
};

struct Net {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  torch::Tensor loss(const torch::Tensor& x) const {
    auto h = x;
    for (size_t i = 0; i + 1 < params.size(); i += 2) {
      h = torch::tanh(torch::matmul(h, params[i].second) + params[i + 1].second);
    }
    return h.pow(2).sum();
  }
};

Net net(int layers, int64_t width = 6) {
  auto g = at::detail::createCPUGenerator(3);
  Net n;
  for (int l = 0; l < layers; ++l) {
    n.params.push_back({"w" + std::to_string(l),
                        torch::randn({width, width}, g, torch::kFloat64).requires_grad_()});
    n.params.push_back(
        {"b" + std::to_string(l), torch::randn({width}, g, torch::kFloat64).requires_grad_()});
  }
  return n;
}

torch::Tensor input(int64_t seed) {
  auto g = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return torch::randn({4, 6}, g, torch::kFloat64);
}

// Plain gradients of the sum of the micro-batches' losses.
std::vector<torch::Tensor> plain_grads(const Net& n, const std::vector<int64_t>& seeds) {
  for (const auto& [name, p] : n.params) p.mutable_grad() = torch::Tensor();
  for (auto s : seeds) n.loss(input(s)).backward();
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : n.params) out.push_back(p.grad().clone());
  for (const auto& [name, p] : n.params) p.mutable_grad() = torch::Tensor();
  return out;
}

TEST(GradientReducer, BucketsStartDuringBackwardInOrderAndAverage) {
  const auto n = net(3);
  const auto expected = plain_grads(n, {1});
  auto comm = std::make_shared<FakePairCommunicator>();
  GradientReducer reducer(n.params, comm, /*bucket_bytes=*/1);  // one parameter per bucket
  ASSERT_EQ(reducer.bucket_count(), 6);
  reducer.arm();
  n.loss(input(1)).backward();
  // Every bucket started before backward returned, last layer first, none waited for yet.
  EXPECT_EQ(reducer.started_during_backward(), 6);
  EXPECT_EQ(comm->started, (std::vector<int64_t>{6, 36, 6, 36, 6, 36}));
  EXPECT_EQ(comm->waited, 0);
  reducer.finish();
  EXPECT_EQ(comm->waited, 6);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(n.params[i].second.grad(), expected[i], 0, 1e-12))
        << n.params[i].first;
  }
}

TEST(GradientReducer, LargerBucketsHoldSeveralParameters) {
  const auto n = net(3);
  auto comm = std::make_shared<FakePairCommunicator>();
  // 36 doubles = 288 bytes: a bucket closes once it holds at least that much.
  GradientReducer reducer(n.params, comm, /*bucket_bytes=*/288);
  EXPECT_EQ(reducer.bucket_count(), 3);
  reducer.arm();
  n.loss(input(1)).backward();
  reducer.finish();
  EXPECT_EQ(comm->started, (std::vector<int64_t>{42, 42, 42}));
}

TEST(GradientReducer, AccumulatesEarlierMicroBatches) {
  const auto n = net(2);
  const auto expected = plain_grads(n, {1, 2});
  auto comm = std::make_shared<FakePairCommunicator>();
  GradientReducer reducer(n.params, comm, 1);
  n.loss(input(1)).backward();  // not armed: only .grad accumulates
  EXPECT_TRUE(comm->started.empty());
  reducer.arm();
  n.loss(input(2)).backward();
  reducer.finish();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(n.params[i].second.grad(), expected[i], 0, 1e-12))
        << n.params[i].first;
  }
}

TEST(GradientReducer, UnusedParameterWaitsForFinishAndKeepsNoGradient) {
  auto n = net(2);
  // Registered first, so its bucket is the last; and one in the middle that backward skips.
  auto unused_first = torch::ones({3}, torch::kFloat64).requires_grad_();
  auto unused_middle = torch::ones({2}, torch::kFloat64).requires_grad_();
  auto params = n.params;
  params.insert(params.begin(), {"unused_first", unused_first});
  params.insert(params.begin() + 3, {"unused_middle", unused_middle});
  const auto expected = plain_grads(n, {1});
  auto comm = std::make_shared<FakePairCommunicator>();
  GradientReducer reducer(params, comm, 1);
  ASSERT_EQ(reducer.bucket_count(), 6);
  reducer.arm();
  n.loss(input(1)).backward();
  // Buckets (reverse order): b1 w1 unused_middle b0 w0 unused_first; only the first two can
  // start before finish(), because starts keep index order.
  EXPECT_EQ(reducer.started_during_backward(), 2);
  reducer.finish();
  EXPECT_EQ(comm->started.size(), 6u);
  EXPECT_FALSE(unused_first.grad().defined());
  EXPECT_FALSE(unused_middle.grad().defined());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(n.params[i].second.grad(), expected[i], 0, 1e-12));
  }
}

TEST(GradientReducer, ParameterUsedOnlyByAPeerGetsTheMean) {
  auto n = net(1);
  auto unused = torch::ones({3}, torch::kFloat64).requires_grad_();
  auto params = n.params;
  params.push_back({"unused", unused});
  // The peer's gradient is this rank's + 1 everywhere: 1 for the parameter unused here.
  auto comm = std::make_shared<FakePairCommunicator>(/*peer_offset=*/1.0);
  GradientReducer reducer(params, comm, 1);
  reducer.arm();
  n.loss(input(1)).backward();
  reducer.finish();
  ASSERT_TRUE(unused.grad().defined());
  EXPECT_TRUE(torch::allclose(unused.grad(), torch::full({3}, 0.5, torch::kFloat64)));
}

TEST(GradientReducer, HooksGoWithTheReducer) {
  const auto n = net(1);
  auto comm = std::make_shared<FakePairCommunicator>();
  { GradientReducer reducer(n.params, comm, 1); }
  n.loss(input(1)).backward();
  EXPECT_TRUE(comm->started.empty());
}

}  // namespace
}  // namespace elit::train
