// elit bench forward / sample: inference forwards per budget against the matmul peak measured in
// the same process, and one sampling step per guidance mode (none, CFG, cheap CFG).
#include "bench_common.h"
#include "cli_common.h"
#include "elit/io/model_file.h"
#include "elit/models/flat_linear.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/sampling/guidance.h"

namespace elit::app::bench {
namespace {

// GFLOP/s of a square matmul large enough to reach the GEMM's peak, in this process: the best
// of two calls after one untimed call, through libtorch's mm and through the models' own linear
// path (oneDNN's sgemm for float32 where libtorch loaded it), whichever is faster, so that
// peak fractions are against the fastest GEMM the process has.
double matmul_peak_gflops(torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  const int64_t n = 1536;
  auto a = torch::randn({n, n}).to(dtype);
  torch::nn::Linear b(torch::nn::LinearOptions(n, n).bias(false));
  b->to(dtype);
  const auto mm = time_calls(1, 2, [&] { torch::mm(a, b->weight); });
  const auto own = time_calls(1, 2, [&] { models::linear_rows(b, a); });
  return 2.0 * n * n * n / std::min(mm.front(), own.front()) / 1e9;
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
  out.model = io::create_model(m.config);
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
    // Rounds of one forward per budget, then one matmul-peak sample: budgets and peak see the
    // same machine, and ratios are medians of per-round ratios.
    const size_t n = budgets.size();
    std::vector<torch::Tensor> outputs(n);
    std::vector<double> peaks;
    const auto times = time_rounds(n + (o.matmul_peak ? 1 : 0), o.warmup, o.steps, [&](size_t c) {
      if (c < n) {
        outputs[c] = model->forward(xd, td, cond, sampling::model_budget(spec, budgets[c]));
      } else {
        peaks.push_back(matmul_peak_gflops(dtype));
      }
    });
    if (o.matmul_peak) peaks.erase(peaks.begin(), peaks.begin() + o.warmup);
    const auto full = std::find(budgets.begin(), budgets.end(), 1.0);
    const json flops_full = full == budgets.end() ? json() : forward_flops(m.config, m.batch, 1.0);
    for (size_t i = 0; i < n; ++i) {
      const double b = budgets[i];
      const double med = median(times[i]);
      auto line = common_fields("forward", m, spec, b, dtype_label, o);
      line["median_s"] = med;
      line["min_s"] = *std::min_element(times[i].begin(), times[i].end());
      line["images_per_s"] = static_cast<double>(m.batch) / med;
      line["flops"] = forward_flops(m.config, m.batch, b);
      line["gflops_per_s"] = rate(line["flops"], med);
      if (o.matmul_peak) {
        const double peak = median(peaks);
        line["matmul_peak_gflops_per_s"] = peak;
        line["peak_fraction"] = line["gflops_per_s"].is_null()
                                    ? json()
                                    : json(line["gflops_per_s"].get<double>() / peak);
      }
      if (full != budgets.end()) {
        // Budget proportionality: time(b)/time(1) against FLOPs(b)/FLOPs(1).
        line["time_ratio"] = paired_ratio(times[i], times[full - budgets.begin()]);
        if (!flops_full.is_null() && !line["flops"].is_null()) {
          line["flops_ratio"] = line["flops"].get<double>() / flops_full.get<double>();
          line["time_over_flops_ratio"] =
              line["time_ratio"].get<double>() / line["flops_ratio"].get<double>();
        }
      }
      if (!reference.empty()) {
        const auto ref = reference[i];
        line["rel_err_vs_float32"] =
            ((outputs[i].to(torch::kFloat32) - ref).norm() / ref.norm()).item<double>();
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
      std::vector<std::pair<std::string, sampling::GuidanceOptions>> modes(4);
      modes[0].first = "none";
      modes[1].first = "cfg";
      modes[1].second.scale = o.cfg_scale;
      // The same CFG with its branches as two forwards (the CCFG path at an equal budget): is
      // batching them into one forward of 2B rows the faster way?
      modes[2].first = "cfg_two_forwards";
      modes[2].second.scale = o.cfg_scale;
      modes[2].second.uncond_budget = b;
      modes[3].first = "ccfg";
      modes[3].second.scale = o.cfg_scale;
      modes[3].second.uncond_budget = uncond;
      if (!spec.elit) modes.resize(2);  // branches at their own budgets need a latent interface
      // Rounds of one step per mode, so that the modes see the same machine.
      std::vector<sampling::GuidedCall> calls(modes.size());
      const double rss_before = rss_mb();
      const auto times = time_rounds(modes.size(), o.warmup, o.steps, [&](size_t c) {
        sampling::guided_velocity(*model, x, 0.5, cond, null_cond, b, modes[c].second, dtype,
                                  &calls[c]);
      });
      const double rss_growth = rss_mb() - rss_before;
      for (size_t c = 0; c < modes.size(); ++c) {
        const auto& [name, guidance] = modes[c];
        const double med = median(times[c]);
        auto line = common_fields("sample_step", m, spec, b, dtype_label, o);
        line["guidance"] = name;
        line["cfg_scale"] = guidance.scale;
        if (guidance.uncond_budget) line["uncond_budget"] = *guidance.uncond_budget;
        line["forwards"] = calls[c].forwards;
        line["median_s"] = med;
        line["min_s"] = *std::min_element(times[c].begin(), times[c].end());
        json flops = forward_flops(m.config, m.batch, b);
        if (!flops.is_null() && name != "none") {
          const double guide = guidance.uncond_budget.value_or(b);
          flops = flops.get<int64_t>() + forward_flops(m.config, m.batch, guide).get<int64_t>();
        }
        line["flops"] = flops;
        line["gflops_per_s"] = rate(flops, med);
        if (c > 1) line["time_vs_cfg"] = paired_ratio(times[c], times[1]);
        line["rss_growth_mb"] = rss_growth;
        line["peak_rss_mb"] = peak_rss_mb();
        emit(line, o);
      }
    }
  }
}

}  // namespace elit::app::bench
