// Uses only the installed headers (which include nlohmann/json.hpp and libtorch) and prints
// "elit consumer ok" after a forward at full and at a quarter budget.
#include <elit/models/registry.h>
#include <torch/torch.h>

#include <iostream>

int main() {
  const nlohmann::json config = {
      {"model", "ELIT-SiT-S/2"}, {"input_size", 8}, {"depth", 4},      {"encoder_depth", 1},
      {"dit_decoder_depth", 1},  {"group_size", 2}, {"num_classes", 3}};
  auto model = elit::models::create_model(config);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 4, 8, 8});
  const auto t = torch::rand({2});
  const auto cond = model->condition_for_labels(torch::tensor({0, 2}, torch::kInt64));
  for (const double budget : {1.0, 0.25}) {
    const auto out = model->forward(x, t, cond, budget);
    if (out.sizes() != x.sizes() || !torch::isfinite(out).all().item<bool>()) {
      std::cerr << "unexpected output at budget " << budget << ": " << out.sizes() << "\n";
      return 1;
    }
  }
  std::cout << "elit consumer ok\n";
  return 0;
}
