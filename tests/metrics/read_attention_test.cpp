// Read-attention capture and maps: the captured weights are the forward's own (rows sum to 1 over
// a group's tokens, equal to a direct recomputation from Read's parameters, the output unchanged
// by observing), a recorder finds the Read of a whole model and detaches when gone, and the maps
// keep every group's mass at 1.
#include "elit/metrics/read_attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "elit/models/adaln.h"
#include "elit/models/sit.h"
#include "elit/runtime/error.h"
#include "support/tiny_sit.h"

namespace elit::metrics {
namespace {

constexpr int64_t kWidth = 32, kHeads = 2;
const models::GroupLayout kLayout{4, 4, 2};  // 4x4 tokens, 2x2 groups: G = 4, T = 4

models::Read random_read() {
  torch::manual_seed(3);
  models::Read read(kWidth, kHeads, kLayout.group, kLayout.tokens());
  torch::NoGradGuard no_grad;
  for (auto& p : read->parameters()) p.normal_(0, 0.3);
  read->to(torch::kFloat64);
  return read;
}

TEST(ReadAttention, CaptureIsTheForwardsOwnSoftmax) {
  auto read = random_read();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, kLayout.tokens(), kWidth}, torch::kFloat64);
  const auto c = torch::randn({2, kWidth}, torch::kFloat64);
  const auto unobserved = read->forward(x, c, kLayout, 2).latents;

  std::vector<models::ReadAttention> seen;
  read->observer = [&](const models::ReadAttention& a) { seen.push_back(a); };
  const auto observed = read->forward(x, c, kLayout, 2).latents;
  ASSERT_EQ(seen.size(), 1u);
  const auto& w = seen[0].weights;
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{2, 4, kHeads, 4, 4}));  // [B, G, H, T, T]
  EXPECT_EQ(seen[0].keep, 2);
  EXPECT_TRUE(torch::allclose(observed, unobserved, 0, 1e-12)) << "observing changed Read";
  EXPECT_TRUE(
      torch::allclose(w.sum(-1), torch::ones({2, 4, kHeads, 4}, torch::kFloat64), 0, 1e-12));

  // Direct recomputation from the parameters: softmax(q k^T / sqrt(d)) of the learned queries
  // against the modulated, position-embedded tokens of each group.
  auto layer = read->fit_layer;
  auto attn = layer->latents_attend_to_patches[0]->as<models::CrossAttention>();
  const auto m = layer->adaLN_modulation->forward(c).chunk(7, -1);
  const auto patches = models::group_tokens(x, kLayout) + read->pos_embed;  // [B, G, T, D]
  const auto kv_in = models::norm_modulate(patches, m[0], m[1]);
  const int64_t d = kWidth / kHeads;
  const auto q = attn->q_norm(attn->q_proj(read->learned_query_embed))  // [T, D] -> [H, T, d]
                     .view({4, kHeads, d})
                     .permute({1, 0, 2});
  const auto k = attn->k_norm(attn->kv_proj(kv_in).narrow(-1, 0, kWidth))  // [B, G, H, T, d]
                     .view({2, 4, 4, kHeads, d})
                     .permute({0, 1, 3, 2, 4});
  const auto want = (torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(d))).softmax(-1);
  EXPECT_TRUE(torch::allclose(w, want, 0, 1e-10)) << (w - want).abs().max();

  read->observer = nullptr;
  read->forward(x, c, kLayout, 2);
  EXPECT_EQ(seen.size(), 1u);
}

TEST(ReadAttention, RecorderCapturesAModelsForwardsAndDetaches) {
  auto model = testing::random_sit(testing::tiny_sampling_sit_config());
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({3, 1, 8, 8});
  const auto t = torch::full({3}, 0.5);
  const auto cond = models::Condition::from_labels(torch::tensor({0, 4, 9}, torch::kInt64));
  const auto plain = model->forward(x, t, cond, 0.5);
  torch::Tensor recorded;
  {
    ReadAttentionRecorder recorder(*model, "tiny");
    EXPECT_EQ(recorder.reads(), 1u);
    recorded = model->forward(x, t, cond, 0.5);
    model->forward(x, t, cond, 1.0);
    auto captures = recorder.take();
    ASSERT_EQ(captures.size(), 2u);
    EXPECT_EQ(captures[0].keep, 2);  // budget 0.5 of 2x2 groups
    EXPECT_EQ(captures[1].keep, 4);
    EXPECT_EQ(captures[0].weights.size(0), 3);
    EXPECT_EQ(captures[0].weights.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(recorder.take().empty());
    EXPECT_THROW(ReadAttentionRecorder(*model, "tiny"), Error);  // one recorder at a time
  }
  EXPECT_TRUE(torch::allclose(recorded, plain, 1e-6, 1e-6));
  EXPECT_FALSE(model->input_token_editor->read->observer) << "the recorder did not detach";

  auto config = testing::tiny_sampling_sit_config();
  config.enable_elit = false;
  models::SiT sit(config);
  try {
    ReadAttentionRecorder recorder(*sit, "SiT-tiny");
    FAIL() << "a model without Read was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SiT-tiny has no latent interface"), std::string::npos)
        << e.what();
  }
}

TEST(ReadAttention, MapsKeepEveryGroupsMassAtOne) {
  torch::manual_seed(1);
  const auto weights = torch::rand({2, 4, kHeads, 4, 4}).softmax(-1);  // [B, G, H, T, T]
  const models::ReadAttention a{weights, kLayout, 4};
  for (int64_t keep : {1, 3, 4}) {
    const auto mass = read_mass_map(a, keep);  // [B, 4, 4]
    ASSERT_EQ(mass.sizes(), (std::vector<int64_t>{2, 4, 4}));
    const auto per_group = models::group_tokens(mass.view({2, 16, 1}), kLayout).sum({2, 3});
    EXPECT_TRUE(torch::allclose(per_group, torch::ones({2, 4}), 0, 1e-5)) << per_group;
  }
  const auto slots = read_slot_maps(a);  // [B, T, 4, 4]
  ASSERT_EQ(slots.sizes(), (std::vector<int64_t>{2, 4, 4, 4}));
  const auto slot_groups = models::group_tokens(slots.reshape({8, 16, 1}), kLayout).sum({2, 3});
  EXPECT_TRUE(torch::allclose(slot_groups, torch::ones({8, 4}), 0, 1e-5));

  // Every latent of every group reads only its group's first token: the mass sits on the top
  // left token of every 2x2 group, and slot 3's map equals the mass map.
  auto one_hot = torch::zeros({1, 4, kHeads, 4, 4});
  one_hot.select(-1, 0).fill_(1);
  const auto mass = read_mass_map({one_hot, kLayout, 4}, 2)[0];
  const auto want = torch::tensor(
      {{1.f, 0.f, 1.f, 0.f}, {0.f, 0.f, 0.f, 0.f}, {1.f, 0.f, 1.f, 0.f}, {0.f, 0.f, 0.f, 0.f}});
  EXPECT_TRUE(torch::equal(mass, want)) << mass;
  EXPECT_TRUE(torch::equal(read_slot_maps({one_hot, kLayout, 4})[0][2], want));

  EXPECT_THROW(read_mass_map(a, 5), Error);
  EXPECT_THROW(read_mass_map({torch::zeros({2, 4, 4}), kLayout, 4}, 1), Error);
}

}  // namespace
}  // namespace elit::metrics
