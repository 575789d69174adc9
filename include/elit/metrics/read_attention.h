// Read-attention maps (`elit attention`, docs/experiments.md): where the latent interface's Read
// looks. A ReadAttentionRecorder attaches to every Read of a model and keeps the softmax weights
// of the model's own forwards (latent_interface.h's ReadObserver: no second attention
// implementation that could drift); the map functions turn one capture into images on the token
// grid.
#pragma once
#include <torch/nn/module.h>

#include <memory>
#include <vector>

#include "elit/models/latent_interface.h"

namespace elit::metrics {

class ReadAttentionRecorder {
 public:
  // Attaches to every Read in `model`'s module tree; throws elit::Error when there is none (a
  // model without the latent interface). `what` names the model in that message.
  ReadAttentionRecorder(torch::nn::Module& model, const std::string& what);
  // Detaches (the model's forwards no longer pay for the capture).
  ~ReadAttentionRecorder();
  ReadAttentionRecorder(const ReadAttentionRecorder&) = delete;
  ReadAttentionRecorder& operator=(const ReadAttentionRecorder&) = delete;

  // Every capture since the last take(), in call order (weights detached, float32, on the CPU).
  std::vector<models::ReadAttention> take();
  size_t reads() const { return reads_.size(); }

 private:
  std::vector<std::shared_ptr<models::ReadImpl>> reads_;
  std::shared_ptr<std::vector<models::ReadAttention>> captured_;
};

// Attention mass each spatial token receives from the first `keep` latents of its group (the
// latents the core runs on), summed over those latents and the heads and divided by their
// number, so that it sums to 1 over every group's tokens: [B, grid_h, grid_w].
torch::Tensor read_mass_map(const models::ReadAttention& a, int64_t keep);

// Where each latent slot reads, averaged over the heads: [B, T slots, grid_h, grid_w]; within
// every group a slot's map sums to 1.
torch::Tensor read_slot_maps(const models::ReadAttention& a);

}  // namespace elit::metrics
