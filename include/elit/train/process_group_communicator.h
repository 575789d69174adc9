// The trainer's Communicator on a c10d process group (dist::ProcessGroup: TCPStore + Gloo), and
// the one call that picks it: a process started by torchrun, srun or `--nproc N` (WORLD_SIZE > 1
// in its environment) joins the group; any other process trains alone.
#pragma once
#include <chrono>
#include <memory>

#include "elit/dist/process_group.h"
#include "elit/train/communicator.h"

namespace elit::train {

class ProcessGroupCommunicator : public Communicator {
 public:
  explicit ProcessGroupCommunicator(dist::ProcessGroupPtr group);
  int rank() const override;
  int world_size() const override;
  void broadcast(std::vector<torch::Tensor>& tensors, int root) override;
  // Bucketed (dist::ProcessGroup's 25 MB buckets, reduced concurrently), then divided by the
  // world size.
  void all_reduce_mean(std::vector<torch::Tensor>& tensors) override;
  std::function<void()> start_all_reduce_sum(torch::Tensor flat) override;
  std::vector<std::string> all_gather(const std::string& value) override;
  void barrier() override;
  dist::ProcessGroup& group() { return *group_; }

 private:
  dist::ProcessGroupPtr group_;
};

// The environment's communicator: a ProcessGroupCommunicator when dist::Environment::from_env()
// says WORLD_SIZE > 1 (every collective then fails with a clear elit::Error after `timeout`
// instead of hanging), else a LocalCommunicator. `device` picks the backend: Gloo for CPU,
// NCCL for CUDA.
std::shared_ptr<Communicator> communicator_from_env(std::chrono::milliseconds timeout,
                                                    torch::Device device = torch::kCPU);

// The device of this rank: a configured "cuda" without an index becomes cuda:LOCAL_RANK when the
// environment says this process is one of several, so ranks on one host use one GPU each.
std::string rank_device(const std::string& configured);

}  // namespace elit::train
