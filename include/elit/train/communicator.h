// What the trainer needs from a group of training processes, so that distributed training can be
// added without touching the training loop. The single-process default does nothing.
//
// The trainer calls:
//   broadcast(...)        initial weights (every rank starts from rank 0's) and the per-step mask
//                         level (one budget per step for all ranks, as the published
//                         synchronized_budget_sampling);
//   start_all_reduce_sum  gradient buckets while backward still runs (GradientReducer);
//   all_reduce_mean(...)  the logged loss (and gradients, when not overlapped);
//   all_gather(...)       per-rank RNG states for the checkpoint;
//   rank()/world_size()   data sharding (rank r reads every world_size-th sample of the
//                         shuffled epoch) and rank-0-only logs and checkpoints;
//   barrier()             after rank 0 has written a checkpoint.
#pragma once
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace elit::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool is_main() const { return rank() == 0; }
  // In place: every rank ends with `root`'s values.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  // In place: every rank ends with the mean over ranks.
  virtual void all_reduce_mean(std::vector<torch::Tensor>& tensors) = 0;
  // Starts an in-place sum over ranks of a contiguous tensor; the returned function waits for it.
  // Every rank starts the same sums in the same order.
  virtual std::function<void()> start_all_reduce_sum(torch::Tensor flat) = 0;
  // Every rank's string, in rank order.
  virtual std::vector<std::string> all_gather(const std::string& value) = 0;
  virtual void barrier() = 0;
};

// One process: rank 0 of 1; every collective is the identity.
class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void broadcast(std::vector<torch::Tensor>&, int) override {}
  void all_reduce_mean(std::vector<torch::Tensor>&) override {}
  std::function<void()> start_all_reduce_sum(torch::Tensor) override {
    return [] {};
  }
  std::vector<std::string> all_gather(const std::string& value) override { return {value}; }
  void barrier() override {}
};

inline std::shared_ptr<Communicator> local_communicator() {
  return std::make_shared<LocalCommunicator>();
}

}  // namespace elit::train
