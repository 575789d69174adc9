// Where training-time condition dropout (class labels, captions) gets its random numbers.
//
// Every backbone drops a row's condition when a uniform draw is below its dropout probability.
// By default the draws are torch::rand({rows}) from torch's global generator, at the point of the
// forward where the published models draw them. Data-parallel training installs a DropoutDrawScope
// that draws for the global batch and keeps this rank's rows, so that W ranks drop the labels one
// process would drop (the same rule the trainer applies to times and noise).
#pragma once
#include <torch/types.h>

#include <functional>

namespace elit::models {

// Uniform draws in [0, 1), one per row, on `device`.
torch::Tensor dropout_uniforms(int64_t rows, const torch::Device& device);

using DropoutDraw = std::function<torch::Tensor(int64_t rows, const torch::Device& device)>;

// While alive, dropout_uniforms(rows, device) on this thread returns draw(rows, device). Scopes
// nest; the previous one is restored on destruction.
class DropoutDrawScope {
 public:
  explicit DropoutDrawScope(DropoutDraw draw);
  ~DropoutDrawScope();
  DropoutDrawScope(const DropoutDrawScope&) = delete;
  DropoutDrawScope& operator=(const DropoutDrawScope&) = delete;

 private:
  DropoutDraw previous_;
};

}  // namespace elit::models
