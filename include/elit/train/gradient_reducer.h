// Averages gradients over the ranks while backward still runs, as PyTorch's DDP does: the
// parameters are grouped into buckets of about `bucket_bytes`, in reverse order (the order in
// which backward roughly produces their gradients). During an armed backward, a hook on every
// parameter copies its gradient into its bucket's flat buffer; a bucket whose parameters are all
// in starts its asynchronous all-reduce at once, while backward goes on with the earlier layers.
// Buckets start strictly in index order, so every rank issues the same collectives in the same
// order even when readiness differs.
#pragma once
#include <torch/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "elit/train/communicator.h"

namespace elit::train {

class GradientReducer {
 public:
  GradientReducer(std::vector<std::pair<std::string, torch::Tensor>> parameters,
                  std::shared_ptr<Communicator> communicator, int64_t bucket_bytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // The next backward is the last of the update (earlier micro-batches only accumulate .grad).
  void arm();
  // After that backward: starts the buckets still waiting (a parameter without a gradient in
  // it contributes its accumulated .grad, or zeros), waits for all, and leaves the mean over
  // ranks in every parameter's .grad. A parameter without a gradient on any rank keeps none.
  void finish();

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets started during the last armed backward, before finish() (the overlap achieved).
  int64_t started_during_backward() const { return started_during_backward_; }

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    int64_t bucket = 0, offset = 0;
    bool ready = false;     // its gradient is in the bucket for this update
    bool had_grad = false;  // this rank produced a gradient for it
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> slots;
    int64_t pending = 0;  // slots not ready yet
    std::function<void()> wait;
  };

  void on_gradient(size_t slot, const torch::Tensor& grad);
  void start_ready_buckets();  // in index order, stopping at the first incomplete one

  std::shared_ptr<Communicator> comm_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::mutex mutex_;
  bool armed_ = false;
  size_t next_bucket_ = 0;
  int64_t started_during_backward_ = 0;
};

}  // namespace elit::train
