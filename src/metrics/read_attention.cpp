#include "elit/metrics/read_attention.h"

#include "elit/runtime/error.h"

namespace elit::metrics {

ReadAttentionRecorder::ReadAttentionRecorder(torch::nn::Module& model, const std::string& what)
    : captured_(std::make_shared<std::vector<models::ReadAttention>>()) {
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto read = std::dynamic_pointer_cast<models::ReadImpl>(m)) reads_.push_back(read);
  }
  check(!reads_.empty(), what,
        " has no latent interface (no Read): Read-attention maps need an ELIT model");
  for (auto& read : reads_) {
    check(!read->observer, what, " already has a Read observer attached");
    read->observer = [captured = captured_](const models::ReadAttention& a) {
      captured->push_back({a.weights.detach().to(torch::kCPU, torch::kFloat32), a.layout, a.keep});
    };
  }
}

ReadAttentionRecorder::~ReadAttentionRecorder() {
  for (auto& read : reads_) read->observer = nullptr;
}

std::vector<models::ReadAttention> ReadAttentionRecorder::take() {
  std::vector<models::ReadAttention> out;
  out.swap(*captured_);
  return out;
}

namespace {

void check_capture(const models::ReadAttention& a) {
  const auto T = a.layout.tokens_per_group();
  check(a.weights.dim() == 5 && a.weights.size(1) == a.layout.groups() && a.weights.size(3) == T &&
            a.weights.size(4) == T,
        "a Read capture must be [B, ", a.layout.groups(), ", H, ", T, ", ", T, "], got ",
        a.weights.sizes());
}

// [B, G, T] per group token -> [B, grid_h, grid_w]
torch::Tensor to_grid(const torch::Tensor& per_token, const models::GroupLayout& layout) {
  return models::ungroup_tokens(per_token.unsqueeze(-1), layout)
      .view({per_token.size(0), layout.grid_h, layout.grid_w});
}

}  // namespace

torch::Tensor read_mass_map(const models::ReadAttention& a, int64_t keep) {
  check_capture(a);
  const int64_t T = a.layout.tokens_per_group();
  check(keep >= 1 && keep <= T, "latents kept per group must be in [1, ", T, "], got ", keep);
  const int64_t heads = a.weights.size(2);
  // [B, G, H, keep, T] -> [B, G, T]
  auto mass = a.weights.narrow(3, 0, keep).sum({2, 3}) / static_cast<double>(heads * keep);
  return to_grid(mass, a.layout);
}

torch::Tensor read_slot_maps(const models::ReadAttention& a) {
  check_capture(a);
  const int64_t B = a.weights.size(0), T = a.layout.tokens_per_group();
  auto per_slot = a.weights.mean(2);  // [B, G, T slots, T tokens]
  // Fold the slots into the batch: [B*T, G, T tokens] -> [B*T, grid_h, grid_w]
  auto folded = per_slot.permute({0, 2, 1, 3}).reshape({B * T, a.layout.groups(), T});
  return to_grid(folded, a.layout).view({B, T, a.layout.grid_h, a.layout.grid_w});
}

}  // namespace elit::metrics
