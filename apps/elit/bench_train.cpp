// elit bench train: full training updates (forward, backward, clipping, AdamW, EMA) per model
// and budget, on one process or, with --nproc N, against N local ranks.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench_common.h"
#include "cli_common.h"
#include "elit/io/model_file.h"
#include "elit/runtime/error.h"
#include "elit/train/process_group_communicator.h"
#include "elit/train/trainer.h"

namespace elit::app::bench {
namespace {

// Matrix-product FLOPs of one training update (PyTorch FlopCounterMode counting: the backward
// pass does twice the forward's products), or null for a family without an analytic count.
json train_flops(const json& config, int64_t batch, std::optional<double> budget) {
  const json forward = forward_flops(config, batch, budget.value_or(1.0));
  return forward.is_null() ? forward : json(3 * forward.get<int64_t>());
}

// One JSON line per model and budget. On W ranks (comm) every rank runs its batch / W rows and
// the update includes the gradient all-reduce; the line reports the global batch.
std::vector<json> measure_train(const BenchOptions& o, train::Communicator& comm) {
  std::vector<json> lines;
  auto shared = std::shared_ptr<train::Communicator>(&comm, [](train::Communicator*) {});
  for (const auto& m : bench_models(o)) {
    check(m.batch % comm.world_size() == 0, "elit bench train: batch ", m.batch,
          " is not divisible by --nproc ", comm.world_size());
    torch::manual_seed(0);
    auto model = io::create_model(m.config);
    const auto spec = model->spec();
    train::TrainStepOptions so;
    so.precision = train::parse_mixed_precision(m.precision);
    so.grad_bucket_bytes = static_cast<int64_t>(o.ddp_bucket_mb * (1 << 20));
    train::TrainStep step(model, so, shared);
    const int64_t rows = m.batch / comm.world_size();
    data::Batch batch;
    batch.x = torch::randn({rows, spec.in_channels, spec.height, spec.width});
    batch.labels = torch::randint(std::max<int64_t>(spec.num_classes, 1), {rows}, torch::kInt64);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    for (const double budget : budgets_for(*model, o)) {
      const std::optional<double> b = spec.elit ? std::optional<double>(budget) : std::nullopt;
      // Past any warmup (step 1000): the full learning rate.
      const auto times = time_calls(o.warmup, o.steps, [&] { step.run({batch}, b, 1000); });
      const double median_s = median(times);
      json line = {
          {"what", "train"},
          {"model", m.name},
          {"params", params},
          {"batch", m.batch},
          {"input_size", {spec.in_channels, spec.height, spec.width}},
          {"budget", budget},
          {"dtype",
           train::to_string(so.precision) == "no" ? "float32" : train::to_string(so.precision)},
          {"processes", comm.world_size()},
          {"ddp_bucket_mb", o.ddp_bucket_mb},
          {"threads", torch::get_num_threads()},
          {"steps", o.steps},
          {"median_s", median_s},
          {"min_s", times.front()},
          {"images_per_s", static_cast<double>(m.batch) / median_s},
          {"peak_rss_mb", peak_rss_mb()},
          {"flops", train_flops(m.config, m.batch, b)}};
      line["gflops_per_s"] = rate(line["flops"], median_s);
      line["rss_mb"] = rss_mb();
      lines.push_back(line);
    }
  }
  return lines;
}

// --nproc N: the same updates on 1 process (all cores) and on N local ranks (cores / N threads
// each, global batch split), then one line per model and budget with both and the efficiency.
void bench_train_scaling(const BenchOptions& o) {
  train::LocalCommunicator local;
  const auto single = measure_train(o, local);
  const auto results = (std::filesystem::temp_directory_path() /
                        ("elit-bench-" + std::to_string(::getpid()) + ".jsonl"))
                           .string();
  launch_ranks(o.dist, {"--rank-results", results});
  std::ifstream in(results);
  std::vector<json> ranked;
  for (std::string line; std::getline(in, line);) ranked.push_back(json::parse(line));
  std::filesystem::remove(results);
  check(ranked.size() == single.size(), "elit bench train: rank 0 reported ", ranked.size(),
        " measurements, expected ", single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    auto line = ranked[i];
    const double base = single[i]["images_per_s"].get<double>();
    line["baseline_threads"] = single[i]["threads"];
    line["baseline_median_s"] = single[i]["median_s"];
    line["baseline_images_per_s"] = base;
    line["speedup"] = line["images_per_s"].get<double>() / base;
    line["scaling_efficiency"] = line["speedup"].get<double>() / o.dist.nproc;
    emit(line, o);
  }
}

}  // namespace

void bench_train(const BenchOptions& o) {
  start_command();
  if (o.dist.launching()) return bench_train_scaling(o);
  const auto comm = train::communicator_from_env(o.dist.timeout());
  const auto lines = measure_train(o, *comm);
  if (!comm->is_main()) return;
  for (const auto& line : lines) {
    if (o.rank_results.empty()) {
      emit(line, o);
    } else {
      std::ofstream(o.rank_results, std::ios::app) << line.dump() << "\n";
    }
  }
}

}  // namespace elit::app::bench
