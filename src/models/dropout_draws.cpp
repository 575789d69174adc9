#include "elit/models/dropout_draws.h"

#include <utility>

#include "elit/runtime/error.h"

namespace elit::models {

namespace {
thread_local DropoutDraw active_draw;
}  // namespace

torch::Tensor dropout_uniforms(int64_t rows, const torch::Device& device) {
  if (!active_draw) return torch::rand({rows}, torch::TensorOptions().device(device));
  auto draws = active_draw(rows, device);
  check(draws.dim() == 1 && draws.size(0) == rows, "dropout draws: expected ", rows,
        " values, the installed scope gave ", draws.sizes());
  return draws.to(device);
}

DropoutDrawScope::DropoutDrawScope(DropoutDraw draw)
    : previous_(std::exchange(active_draw, std::move(draw))) {}

DropoutDrawScope::~DropoutDrawScope() {
  active_draw = std::move(previous_);
}

}  // namespace elit::models
