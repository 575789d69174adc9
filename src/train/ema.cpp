#include "elit/train/ema.h"

#include "elit/io/state_dict.h"
#include "elit/runtime/error.h"

namespace elit::train {

EMA::EMA(const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : io::state_dict(model)) weights_[name] = tensor.detach().clone();
  for (const auto& p : model.named_parameters()) parameter_names_.insert(p.key());
}

void EMA::update(const torch::nn::Module& model, double decay) {
  torch::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters()) {
    auto it = weights_.find(p.key());
    check(it != weights_.end(), "EMA has no parameter '", p.key(), "'");
    it->second.mul_(decay).add_(p.value().detach(), 1 - decay);
  }
}

void EMA::load(const io::TensorMap& weights, const std::string& origin) {
  check(weights.size() == weights_.size(), origin, ": EMA weights have ", weights.size(),
        " tensors, the model ", weights_.size());
  io::TensorMap next;
  for (const auto& [name, current] : weights_) {
    auto it = weights.find(name);
    check(it != weights.end(), origin, ": EMA weights have no '", name, "'");
    check(it->second.sizes() == current.sizes(), origin, ": EMA '", name, "' has shape ",
          it->second.sizes(), ", the model ", current.sizes());
    next[name] = it->second.to(current.options()).clone();
  }
  weights_ = std::move(next);
}

}  // namespace elit::train
