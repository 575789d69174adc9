#include "elit/models/flat_linear.h"

#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "cpu_blas.h"

namespace elit::models {
namespace {

bool dnnl_linear_applies(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!dnnl_sgemm() || x.dim() != 2 || w.dim() != 2 || x.scalar_type() != torch::kFloat32 ||
      w.scalar_type() != torch::kFloat32 || !x.device().is_cpu() || !w.device().is_cpu() ||
      ELIT_CPU_AUTOCAST_ENABLED()) {
    return false;
  }
  if (b.defined() && (b.scalar_type() != torch::kFloat32 || !b.device().is_cpu() || b.dim() != 1)) {
    return false;
  }
  return x.size(0) * x.size(1) * w.size(0) >= kDnnlMinMultiplyAdds;
}

// out = a b + beta out for float32 a [m, k], b [k, n], out [m, n] contiguous, through oneDNN;
// libtorch's product where oneDNN refuses the operands.
void product_into(const torch::Tensor& a_in, const torch::Tensor& b_in, torch::Tensor& out,
                  float beta) {
  GemmOperand oa, ob;
  const auto a = gemm_ready(a_in, oa), b = gemm_ready(b_in, ob);
  const int status =
      dnnl_sgemm()(oa.trans, ob.trans, a.size(0), b.size(1), a.size(1), 1.0f, a.data_ptr<float>(),
                   oa.ld, b.data_ptr<float>(), ob.ld, beta, out.data_ptr<float>(), out.size(1));
  if (status == 0) return;
  if (beta == 0) {
    torch::mm_out(out, a, b);
  } else {
    out.addmm_(a, b);
  }
}

torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b) {
  RECORD_FUNCTION("aten::mm", std::vector<c10::IValue>({a, b}));
  auto out = torch::empty({a.size(0), b.size(1)}, a.options());
  product_into(a, b, out, 0.0f);
  return out;
}

// x W^T + b: the output is filled with the bias once and the GEMM accumulates onto it.
torch::Tensor forward_product(const torch::Tensor& x, const torch::Tensor& w,
                              const torch::Tensor& b) {
  if (!b.defined()) return product(x, w.t());
  // Profilers and FLOP counters see the addmm this replaces.
  RECORD_FUNCTION("aten::addmm", std::vector<c10::IValue>({b, x, w.t()}));
  auto y = b.expand({x.size(0), w.size(0)}).contiguous();
  product_into(x, w.t(), y, 1.0f);
  return y;
}

// Training keeps oneDNN's products for the backward too: dx = g W, dW = g^T x, db = sum of g.
// Autograd functions take no undefined tensors: without a bias, b is an empty one.
struct DnnlLinear : torch::autograd::Function<DnnlLinear> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& w, const torch::Tensor& b) {
    ctx->save_for_backward({x, w});
    const bool has_bias = b.numel() > 0;
    ctx->saved_data["has_bias"] = has_bias;
    return forward_product(x, w, has_bias ? b : torch::Tensor());
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto g = grads[0].contiguous();
    torch::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = product(g, saved[1]);
    if (ctx->needs_input_grad(1)) dw = product(g.t(), saved[0]);
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) db = g.sum(0);
    return {dx, dw, db};
  }
};

}  // namespace

torch::Tensor linear_rows(torch::nn::Linear& linear, const torch::Tensor& x, bool add_bias) {
  const auto& w = linear->weight;
  const auto b = add_bias ? linear->bias : torch::Tensor();
  if (!dnnl_linear_applies(x, w, b)) {
    if (add_bias || !linear->bias.defined()) return linear(x);
    return torch::mm(x, w.t());  // oneDNN (bfloat16) and the BLAS write it without a fill pass
  }
  const bool needs_grad =
      torch::GradMode::is_enabled() &&
      (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  if (needs_grad) return DnnlLinear::apply(x, w, b.defined() ? b : torch::empty({0}, w.options()));
  return forward_product(x, w, b);
}

}  // namespace elit::models
