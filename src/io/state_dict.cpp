#include "elit/io/state_dict.h"

#include <sstream>

#include "elit/runtime/error.h"

namespace elit::io {

TensorMap state_dict(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

void load_state_dict(torch::nn::Module& module, const TensorMap& weights,
                     const std::string& origin) {
  auto targets = state_dict(module);
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, target] : targets) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      std::ostringstream s;
      s << name << " (file " << it->second.sizes() << ", model " << target.sizes() << ")";
      mismatched.push_back(s.str());
    }
  }
  for (const auto& [name, _] : weights) {
    if (!targets.count(name)) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::ostringstream msg;
    msg << "weights '" << origin << "' do not match the model:";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg << "\n  " << what << " (" << names.size() << "):";
      for (const auto& n : names) msg << "\n    " << n;
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("shape mismatch", mismatched);
    fail(msg.str());
  }
  for (const auto& [name, target] : targets) {
    const auto& w = weights.at(name);
    check(!w.is_floating_point() || torch::isfinite(w).all().item<bool>(), "weights '", origin,
          "': tensor '", name, "' contains NaN or infinity (a diverged or corrupt checkpoint)");
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    target.copy_(weights.at(name).to(target.device(), target.scalar_type()));
  }
}

TensorMap select_prefix(const TensorMap& weights, const std::string& prefix) {
  TensorMap out;
  for (const auto& [name, t] : weights) {
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = t;
  }
  return out;
}

TensorMap strip_wrapper_prefixes(const TensorMap& weights) {
  // Stability's all-in-one SD3/SD3.5 files hold the MM-DiT under "model.diffusion_model." next
  // to the VAE ("first_stage_model.") and text encoders: keep the diffusion model only.
  const std::string sd = "model.diffusion_model.";
  const bool any_sd = std::any_of(weights.begin(), weights.end(),
                                  [&](const auto& kv) { return kv.first.rfind(sd, 0) == 0; });
  if (any_sd) return strip_wrapper_prefixes(select_prefix(weights, sd));
  for (const char* prefix : {"module.", "weight."}) {
    const std::string p(prefix);
    const bool all =
        !weights.empty() && std::all_of(weights.begin(), weights.end(),
                                        [&](const auto& kv) { return kv.first.rfind(p, 0) == 0; });
    if (all) return strip_wrapper_prefixes(select_prefix(weights, p));
  }
  return weights;
}

}  // namespace elit::io
