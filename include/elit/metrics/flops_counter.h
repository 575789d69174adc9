// Measured FLOPs: counts the matrix products of the aten operators that actually run, from
// their shapes, through libtorch's RecordFunction callbacks. Works for any backbone and is
// independent of the analytic formulas in flops.h (the tests compare the two).
//
// Counted like PyTorch's FlopCounterMode: 2*m*n*k for mm/addmm/bmm/baddbmm/matmul/linear/mv/dot
// (batch dimensions broadcast), 2 * output elements * (C_in/groups * kernel) for convolutions;
// nothing else. Only the outermost counted operator is counted (aten::linear, not the addmm it
// calls), so nothing is counted twice.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "elit/models/diffusion_model.h"

namespace elit::metrics {

// Counts the operators run on the constructing thread while it is alive. One counter per thread
// at a time (a second is an elit::Error).
class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  int64_t total() const { return total_; }
  // FLOPs per operator name ("aten::linear", "aten::matmul", "aten::conv2d", ...).
  const std::map<std::string, int64_t>& by_operator() const { return by_operator_; }

  // Used by the callbacks.
  void add(const std::string& op, int64_t flops);
  int depth = 0;  // nesting of counted operators

 private:
  uint64_t handle_ = 0;
  int64_t total_ = 0;
  std::map<std::string, int64_t> by_operator_;
};

// FLOPs of one forward of `model` at `batch` rows, measured over a real forward (zeros as input,
// t = 0.5, the condition for label 0). Runs on the model's device and dtype.
int64_t measure_forward_flops(models::DiffusionModel& model, int64_t batch,
                              std::optional<double> budget);

}  // namespace elit::metrics
