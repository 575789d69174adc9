#include "elit/train/gradient_reducer.h"

#include "elit/runtime/error.h"

namespace elit::train {

GradientReducer::GradientReducer(std::vector<std::pair<std::string, torch::Tensor>> parameters,
                                 std::shared_ptr<Communicator> communicator, int64_t bucket_bytes)
    : comm_(std::move(communicator)) {
  check(comm_ != nullptr, "GradientReducer needs a communicator");
  check(bucket_bytes > 0, "gradient bucket size must be positive, got ", bucket_bytes, " bytes");
  // Reverse order: the last layers' gradients come first in backward.
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    check(it->second.requires_grad(), "parameter ", it->first, " does not require a gradient");
    slots_.push_back(Slot{it->first, it->second});
  }
  // A bucket holds one dtype on one device; a new one opens when it is full or they change.
  int64_t used = 0;
  std::vector<int64_t> numel;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const auto& p = slots_[i].param;
    const auto& first = buckets_.empty() ? p : slots_[buckets_.back().slots.front()].param;
    if (buckets_.empty() || used >= bucket_bytes || first.scalar_type() != p.scalar_type() ||
        first.device() != p.device()) {
      buckets_.emplace_back();
      numel.push_back(0);
      used = 0;
    }
    slots_[i].bucket = static_cast<int64_t>(buckets_.size()) - 1;
    slots_[i].offset = numel.back();
    buckets_.back().slots.push_back(i);
    numel.back() += p.numel();
    used += p.numel() * p.element_size();
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto& p = slots_[buckets_[b].slots.front()].param;
    buckets_[b].flat = torch::empty({numel[b]}, p.options().requires_grad(false));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    hooks_.push_back(
        slots_[i].param.register_hook([this, i](const torch::Tensor& g) { on_gradient(i, g); }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].param.remove_hook(hooks_[i]);
}

void GradientReducer::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;  // also after a backward that threw before finish()
  next_bucket_ = 0;
  started_during_backward_ = 0;
  for (auto& s : slots_) s.ready = s.had_grad = false;
  for (auto& b : buckets_) {
    b.pending = static_cast<int64_t>(b.slots.size());
    b.wait = nullptr;
  }
}

// The hook sees the gradient of this backward before autograd adds it to .grad, so the bucket
// gets .grad (earlier micro-batches) + this gradient: what .grad will hold after backward.
void GradientReducer::on_gradient(size_t i, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  auto& s = slots_[i];
  check(!s.ready, "parameter ", s.name, " received two gradients in one backward");
  auto& b = buckets_[s.bucket];
  auto view = b.flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
  torch::NoGradGuard no_grad;
  const auto& accumulated = s.param.grad();
  if (accumulated.defined()) {
    torch::add_out(view, accumulated, grad);
  } else {
    view.copy_(grad);
  }
  s.ready = s.had_grad = true;
  if (--b.pending == 0) {
    const auto before = next_bucket_;
    start_ready_buckets();
    started_during_backward_ += static_cast<int64_t>(next_bucket_ - before);
  }
}

void GradientReducer::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    auto& b = buckets_[next_bucket_++];
    b.wait = comm_->start_all_reduce_sum(b.flat);
  }
}

void GradientReducer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  check(armed_, "GradientReducer::finish() without arm()");
  armed_ = false;
  torch::NoGradGuard no_grad;
  // Parameters that got no gradient in the armed backward: their .grad so far, or zeros.
  for (auto& s : slots_) {
    if (s.ready) continue;
    auto view = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel());
    const auto& g = s.param.grad();
    s.had_grad = g.defined();
    if (s.had_grad) {
      view.copy_(g.reshape({-1}));
    } else {
      view.zero_();
    }
    s.ready = true;
    --buckets_[s.bucket].pending;
  }
  start_ready_buckets();
  const double world = comm_->world_size();
  for (auto& b : buckets_) {
    b.wait();
    b.wait = nullptr;
    b.flat.div_(world);
  }
  for (auto& s : slots_) {
    const auto mean =
        buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
    // No gradient here and none anywhere (all zeros): leave .grad undefined, as one process would.
    if (!s.had_grad && !mean.any().item<bool>()) continue;
    auto& g = s.param.mutable_grad();
    if (g.defined()) {
      g.copy_(mean);
    } else {
      g = mean.clone();
    }
  }
}

}  // namespace elit::train
