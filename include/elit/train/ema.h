// Exponential moving average of the weights, the published update_ema: every parameter
// e <- e * decay + p * (1 - decay). It starts as a copy of the model (published: deepcopy, then
// update_ema(decay=0)); buffers are copied once and never averaged, as published.
#pragma once
#include <torch/nn/module.h>

#include <set>
#include <string>

#include "elit/io/safetensors.h"

namespace elit::train {

class EMA {
 public:
  // A copy of every parameter and buffer of `model` (state_dict names).
  explicit EMA(const torch::nn::Module& model);

  void update(const torch::nn::Module& model, double decay);
  // Full state_dict (parameters and buffers), suitable for io::write_model_file.
  const io::TensorMap& weights() const { return weights_; }
  // Replaces the averaged weights; throws elit::Error naming `origin` when keys or shapes differ.
  void load(const io::TensorMap& weights, const std::string& origin);

 private:
  io::TensorMap weights_;
  std::set<std::string> parameter_names_;
};

}  // namespace elit::train
