// elit bench forward / sample: inference forwards per budget against the matmul peak measured in
// the same process, and one sampling step per guidance mode (none, CFG, cheap CFG).
#include "bench_common.h"
#include "cli_common.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/sampling/guidance.h"

namespace elit::app::bench {
namespace {

// GFLOP/s of a square matmul large enough to reach the BLAS's peak, in this process.
double matmul_peak_gflops(torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  const int64_t n = 1536;
  auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  const auto times = time_calls(2, 5, [&] { torch::mm(a, b); });
  return 2.0 * n * n * n / times.front() / 1e9;
}

// A model ready to time: eval mode, seeded weights, and a batch of random class conditions. A
// fresh model's zero-initialised output layers (adaLN-Zero) make every output 0; they get small
// random values, as in a trained model, so that outputs can be compared across dtypes.
struct TimedModel {
  models::ModelPtr model;
  models::ModelSpec spec;
  models::Condition cond;
};

TimedModel timed_model(const BenchModel& m) {
  torch::manual_seed(0);
  TimedModel out;
  out.model = models::create_model(m.config);
  out.model->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : out.model->parameters()) {
      if (p.numel() > 1 && p.eq(0).all().item<bool>()) p.normal_(0.0, 0.02);
    }
  }
  out.spec = out.model->spec();
  out.cond = out.model->condition_for_labels(
      torch::randint(std::max<int64_t>(out.spec.num_classes, 1), {m.batch}, torch::kInt64));
  return out;
}

torch::Dtype inference_dtype(const std::string& name) {
  if (name == "float32" || name == "no") return torch::kFloat32;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  throw Error("elit bench: --dtype must be float32 or bf16 for inference, got '" + name + "'");
}

}  // namespace

void bench_forward(const BenchOptions& o) {
  start_command();
  torch::NoGradGuard no_grad;
  const auto dtype = inference_dtype(o.dtype);
  const std::string dtype_label = dtype_name(dtype);
  for (const auto& m : bench_models(o)) {
    auto [model, spec, cond] = timed_model(m);
    auto x = torch::randn({m.batch, spec.in_channels, spec.height, spec.width});
    auto t = torch::rand({m.batch});
    const auto budgets = budgets_for(*model, o);
    // bfloat16 runs bfloat16 weights; its outputs are compared with float32 ones.
    std::vector<torch::Tensor> reference;
    if (dtype != torch::kFloat32) {
      for (const double b : budgets)
        reference.push_back(model->forward(x, t, cond, sampling::model_budget(spec, b)));
      model->to(dtype);
    }
    const auto xd = x.to(dtype), td = t.to(dtype);
    std::optional<double> time_full;
    json flops_full;
    for (size_t i = 0; i < budgets.size(); ++i) {
      const double b = budgets[i];
      const auto mb = sampling::model_budget(spec, b);
      torch::Tensor out;
      const auto times =
          time_calls(o.warmup, o.steps, [&] { out = model->forward(xd, td, cond, mb); });
      const double median = times[times.size() / 2];
      auto line = common_fields("forward", m, spec, b, dtype_label, o);
      line["median_s"] = median;
      line["min_s"] = times.front();
      line["images_per_s"] = static_cast<double>(m.batch) / median;
      line["flops"] = forward_flops(m.config, m.batch, b);
      line["gflops_per_s"] = rate(line["flops"], median);
      if (o.matmul_peak) {
        // Measured right after this budget's forwards: this machine's speed drifts by minutes.
        const double peak = matmul_peak_gflops(dtype);
        line["matmul_peak_gflops_per_s"] = peak;
        line["peak_fraction"] = line["gflops_per_s"].is_null()
                                    ? json()
                                    : json(line["gflops_per_s"].get<double>() / peak);
      }
      if (b == 1.0) {
        time_full = median;
        flops_full = line["flops"];
      }
      if (time_full) {
        // Budget proportionality: time(b)/time(1) against FLOPs(b)/FLOPs(1).
        line["time_ratio"] = median / *time_full;
        if (!flops_full.is_null()) {
          line["flops_ratio"] = line["flops"].get<double>() / flops_full.get<double>();
          line["time_over_flops_ratio"] =
              line["time_ratio"].get<double>() / line["flops_ratio"].get<double>();
        }
      }
      if (!reference.empty()) {
        const auto ref = reference[i];
        line["rel_err_vs_float32"] =
            ((out.to(torch::kFloat32) - ref).norm() / ref.norm()).item<double>();
      }
      line["peak_rss_mb"] = peak_rss_mb();
      emit(line, o);
    }
  }
}

// Time per sampling step (one guided velocity) for no guidance, CFG and cheap CFG.
void bench_sample(const BenchOptions& o) {
  start_command();
  torch::NoGradGuard no_grad;
  const auto dtype = inference_dtype(o.dtype);
  const std::string dtype_label = dtype_name(dtype);
  for (const auto& m : bench_models(o)) {
    auto [model, spec, cond] = timed_model(m);
    model->to(dtype);
    auto x = torch::randn({m.batch, spec.in_channels, spec.height, spec.width}, torch::kFloat64);
    const auto null_cond = model->null_condition(cond);
    const double uncond = o.uncond_budget.value_or(
        spec.elit ? 1.0 / static_cast<double>(spec.tokens_per_group) : 1.0);
    for (const double b : o.budgets.empty() ? std::vector<double>{1.0} : o.budgets) {
      std::optional<double> cfg_time;
      std::vector<std::pair<std::string, sampling::GuidanceOptions>> modes(3);
      modes[0].first = "none";
      modes[1].first = "cfg";
      modes[1].second.scale = o.cfg_scale;
      modes[2].first = "ccfg";
      modes[2].second.scale = o.cfg_scale;
      modes[2].second.uncond_budget = uncond;
      if (!spec.elit) modes.pop_back();  // cheap CFG needs a latent interface
      for (const auto& [name, guidance] : modes) {
        sampling::GuidedCall call;
        const double rss_before = rss_mb();
        const auto times = time_calls(o.warmup, o.steps, [&] {
          sampling::guided_velocity(*model, x, 0.5, cond, null_cond, b, guidance, dtype, &call);
        });
        const double median = times[times.size() / 2];
        auto line = common_fields("sample_step", m, spec, b, dtype_label, o);
        line["guidance"] = name;
        line["cfg_scale"] = guidance.scale;
        if (name == "ccfg") line["uncond_budget"] = uncond;
        line["forwards"] = call.forwards;
        line["median_s"] = median;
        line["min_s"] = times.front();
        json flops = forward_flops(m.config, m.batch, b);
        if (!flops.is_null() && name == "cfg") flops = 2 * flops.get<int64_t>();
        if (!flops.is_null() && name == "ccfg")
          flops = flops.get<int64_t>() + forward_flops(m.config, m.batch, uncond).get<int64_t>();
        line["flops"] = flops;
        line["gflops_per_s"] = rate(flops, median);
        if (name == "cfg") cfg_time = median;
        if (name == "ccfg" && cfg_time) line["time_vs_cfg"] = median / *cfg_time;
        line["rss_growth_mb"] = rss_mb() - rss_before;
        line["peak_rss_mb"] = peak_rss_mb();
        emit(line, o);
      }
    }
  }
}

}  // namespace elit::app::bench
