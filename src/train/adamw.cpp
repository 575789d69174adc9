#include "elit/train/adamw.h"

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::train {

AdamW::AdamW(NamedParameters params, AdamWOptions options)
    : params_(std::move(params)), options_(options), slots_(params_.size()) {
  check(options_.beta1 >= 0 && options_.beta1 < 1, "adam_beta1 must be in [0, 1), got ",
        options_.beta1);
  check(options_.beta2 >= 0 && options_.beta2 < 1, "adam_beta2 must be in [0, 1), got ",
        options_.beta2);
  check(options_.eps >= 0, "adam_epsilon must be >= 0, got ", options_.eps);
  check(options_.weight_decay >= 0, "adam_weight_decay must be >= 0, got ", options_.weight_decay);
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  const auto& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    auto& s = slots_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = torch::zeros_like(p, torch::MemoryFormat::Preserve);
      s.exp_avg_sq = torch::zeros_like(p, torch::MemoryFormat::Preserve);
    }
    ++s.step;
    p.mul_(1 - lr * o.weight_decay);
    s.exp_avg.lerp_(g, 1 - o.beta1);
    s.exp_avg_sq.mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
    const double k = static_cast<double>(s.step);
    const double bias_correction1 = 1 - std::pow(o.beta1, k);
    const double bias_correction2_sqrt = std::sqrt(1 - std::pow(o.beta2, k));
    const auto denom = (s.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(o.eps);
    p.addcdiv_(s.exp_avg, denom, -lr / bias_correction1);
  }
}

void AdamW::zero_grad() {
  for (auto& [name, p] : params_) p.mutable_grad() = torch::Tensor();
}

io::TensorMap AdamW::state_dict() const {
  io::TensorMap out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& s = slots_[i];
    if (s.step == 0) continue;
    const auto& name = params_[i].first;
    out[name + ".exp_avg"] = s.exp_avg;
    out[name + ".exp_avg_sq"] = s.exp_avg_sq;
    out[name + ".step"] = torch::tensor(s.step, torch::kInt64);
  }
  return out;
}

void AdamW::load_state_dict(const io::TensorMap& state, const std::string& origin) {
  size_t used = 0;
  std::vector<Slot> slots(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    auto step = state.find(name + ".step");
    if (step == state.end()) continue;  // never updated
    for (const char* part : {".exp_avg", ".exp_avg_sq"}) {
      auto it = state.find(name + part);
      check(it != state.end(), origin, ": optimizer state has no '", name, part, "'");
      check(it->second.sizes() == p.sizes(), origin, ": optimizer '", name, part, "' has shape ",
            it->second.sizes(), ", the parameter ", p.sizes());
    }
    slots[i].exp_avg = state.at(name + ".exp_avg").to(p.options()).clone();
    slots[i].exp_avg_sq = state.at(name + ".exp_avg_sq").to(p.options()).clone();
    slots[i].step = step->second.item<int64_t>();
    used += 3;
  }
  check(used == state.size(), origin, ": optimizer state has ", state.size() - used,
        " entries for parameters the model does not have");
  slots_ = std::move(slots);
}

}  // namespace elit::train
