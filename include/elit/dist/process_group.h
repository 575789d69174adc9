// Collective communication on libtorch's c10d engine: TCPStore rendezvous + ProcessGroupGloo on
// CPU, ProcessGroupNCCL on CUDA builds whose libtorch has it (USE_C10D_NCCL). The c10d headers
// stay in the .cpp files so that users of this header compile fast.
#pragma once
#include <torch/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "elit/dist/environment.h"

namespace elit::dist {

class ProcessGroup {
 public:
  // Joins the group described by `env` (rank 0 hosts the TCPStore). Every collective fails with a
  // clear elit::Error instead of hanging when a peer dies or does not answer within `timeout`.
  // Throws when the rendezvous at MASTER_ADDR:MASTER_PORT cannot be reached in time.
  // `device` CPU: Gloo; CUDA: NCCL (collectives then run on that device; CPU tensors are staged
  // through it).
  static std::shared_ptr<ProcessGroup> create(const Environment& env,
                                              std::chrono::milliseconds timeout,
                                              torch::Device device = torch::kCPU);
  virtual ~ProcessGroup() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place: every rank ends with rank `root`'s values.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) = 0;
  // In place: element-wise sum over ranks, then divided by the world size when `average`.
  // Tensors are packed into buckets of about `bucket_bytes` and reduced concurrently.
  virtual void all_reduce(std::vector<torch::Tensor>& tensors, bool average,
                          int64_t bucket_bytes = 25 << 20) = 0;
  // Starts an in-place element-wise sum over ranks of one contiguous tensor and returns at once;
  // the returned function blocks until the sum is there (throws like the collectives above).
  // Every rank must start the same sums in the same order.
  virtual std::function<void()> start_all_reduce_sum(torch::Tensor flat) = 0;
  // Concatenation along dim 0 of every rank's tensor, in rank order (tensors may differ in dim 0).
  virtual torch::Tensor all_gather_cat(const torch::Tensor& tensor) = 0;
  virtual void barrier() = 0;
};

using ProcessGroupPtr = std::shared_ptr<ProcessGroup>;

// Whether this build has the c10d Gloo backend (CPU) / the NCCL backend (CUDA).
bool gloo_available();
bool nccl_available();

}  // namespace elit::dist
