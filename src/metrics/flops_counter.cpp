#include "elit/metrics/flops_counter.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

thread_local FlopCounter* active_counter = nullptr;

enum class OpKind { none, mm, addmm, bmm, baddbmm, matmul, linear, mv, addmv, dot, conv };

OpKind op_kind(const char* name) {
  static const std::map<std::string, OpKind> kinds = {{"aten::mm", OpKind::mm},
                                                      {"aten::addmm", OpKind::addmm},
                                                      {"aten::bmm", OpKind::bmm},
                                                      {"aten::baddbmm", OpKind::baddbmm},
                                                      {"aten::matmul", OpKind::matmul},
                                                      {"aten::linear", OpKind::linear},
                                                      {"aten::mv", OpKind::mv},
                                                      {"aten::addmv", OpKind::addmv},
                                                      {"aten::dot", OpKind::dot},
                                                      {"aten::conv1d", OpKind::conv},
                                                      {"aten::conv2d", OpKind::conv},
                                                      {"aten::conv3d", OpKind::conv},
                                                      {"aten::convolution", OpKind::conv},
                                                      {"aten::_convolution", OpKind::conv},
                                                      {"aten::conv_transpose1d", OpKind::conv},
                                                      {"aten::conv_transpose2d", OpKind::conv},
                                                      {"aten::conv_transpose3d", OpKind::conv}};
  auto it = kinds.find(name);
  return it == kinds.end() ? OpKind::none : it->second;
}

std::vector<int64_t> shape_of(const c10::IValue& v) {
  if (!v.isTensor()) return {};
  return v.toTensor().sizes().vec();
}

int64_t product(const std::vector<int64_t>& s, size_t from = 0) {
  int64_t p = 1;
  for (auto it = s.begin() + static_cast<std::ptrdiff_t>(std::min(from, s.size())); it != s.end();
       ++it)
    p *= *it;
  return p;
}

// torch.matmul: 1-D operands are promoted to matrices, batch dimensions broadcast.
int64_t matmul_flops(std::vector<int64_t> a, std::vector<int64_t> b) {
  if (a.empty() || b.empty()) return 0;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  const int64_t n = a[a.size() - 2], k = a.back(), m = b.back();
  std::vector<int64_t> batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  const auto batch = at::infer_size(batch_a, batch_b);
  return 2 * product(batch) * n * k * m;
}

// Operands of the matrix product of each kind (skipping the added tensor of addmm/baddbmm).
int64_t product_flops(OpKind kind, c10::ArrayRef<const c10::IValue> in) {
  auto shape = [&](size_t i) { return i < in.size() ? shape_of(in[i]) : std::vector<int64_t>{}; };
  switch (kind) {
    case OpKind::mm:
    case OpKind::bmm:
    case OpKind::matmul:
    case OpKind::dot:
    case OpKind::mv:
      return matmul_flops(shape(0), shape(1));
    case OpKind::addmm:
    case OpKind::addmv:
    case OpKind::baddbmm:
      return matmul_flops(shape(1), shape(2));
    case OpKind::linear: {
      const auto x = shape(0), w = shape(1);
      if (x.empty() || w.size() != 2) return 0;
      return 2 * product(x) * w[0];  // [..., in] x [out, in]^T
    }
    default:
      return 0;
  }
}

// Per output element of a convolution: 2 * C_in/groups * kernel = 2 * prod(weight[1:]).
struct ConvContext : at::ObserverContext {
  bool counted = false;
  bool transposed = false;
  int64_t per_element = 0;
  int64_t input_elements = 0;
};

bool is_transposed(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  if (name.find("transpose") != std::string::npos) return true;
  // aten::convolution / aten::_convolution(input, weight, bias, stride, padding, dilation,
  // transposed, ...)
  const auto in = fn.inputs();
  return in.size() > 6 && in[6].isBool() && in[6].toBool();
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  FlopCounter* counter = active_counter;
  if (!counter) return nullptr;
  const OpKind kind = op_kind(fn.name());
  if (kind == OpKind::none) return nullptr;
  auto ctx = std::make_unique<ConvContext>();
  ctx->counted = counter->depth == 0;
  if (ctx->counted && kind == OpKind::conv) {
    const auto in = fn.inputs();
    const auto x = in.size() > 0 ? shape_of(in[0]) : std::vector<int64_t>{};
    const auto w = in.size() > 1 ? shape_of(in[1]) : std::vector<int64_t>{};
    ctx->transposed = is_transposed(fn);
    ctx->per_element = w.size() >= 2 ? 2 * product(w, 1) : 0;
    ctx->input_elements = product(x);
  } else if (ctx->counted) {
    counter->add(fn.name(), product_flops(kind, fn.inputs()));
    ctx->per_element = -1;  // not a convolution
  }
  // Entered only once nothing above threw (a throwing start gets no on_end).
  ++counter->depth;
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* base) {
  FlopCounter* counter = active_counter;
  auto* ctx = static_cast<ConvContext*>(base);
  if (!counter || !ctx) return;
  --counter->depth;
  if (!ctx->counted || ctx->per_element < 0) return;
  // A transposed convolution does its products per input element (FlopCounterMode's rule).
  int64_t elements = ctx->input_elements;
  if (!ctx->transposed) {
    const auto& out = fn.outputs();
    elements = !out.empty() && out[0].isTensor() ? out[0].toTensor().numel() : 0;
  }
  counter->add(fn.name(), elements * ctx->per_element);
}

}  // namespace

FlopCounter::FlopCounter() {
  check(active_counter == nullptr, "a FlopCounter is already active on this thread");
  active_counter = this;
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end)
                                           .needsInputs(true)
                                           .needsOutputs(true)
                                           .scopes({at::RecordScope::FUNCTION}));
}

FlopCounter::~FlopCounter() {
  at::removeCallback(handle_);
  active_counter = nullptr;
}

void FlopCounter::add(const std::string& op, int64_t flops) {
  total_ += flops;
  by_operator_[op] += flops;
}

int64_t measure_forward_flops(models::DiffusionModel& model, int64_t batch,
                              std::optional<double> budget) {
  check(batch >= 1, "invalid batch ", batch, " for a FLOPs count: must be at least 1");
  const auto spec = model.spec();
  torch::Tensor probe;
  for (const auto& p : model.parameters()) {
    probe = p;
    break;
  }
  check(probe.defined(), "model '", spec.name, "' has no parameters to take a device from");
  const auto options = probe.options();
  const auto x = torch::zeros({batch, spec.in_channels, spec.height, spec.width}, options);
  const auto t = torch::full({batch}, 0.5, options);
  const auto cond = model.condition_for_labels(torch::zeros({batch}, options.dtype(torch::kInt64)));
  torch::NoGradGuard no_grad;
  FlopCounter counter;
  model.forward(x, t, cond, budget);
  return counter.total();
}

}  // namespace elit::metrics
