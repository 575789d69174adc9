#include "elit/serve/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"
#include "elit/sampling/seeds.h"

namespace elit::serve {
namespace {

// Requests without a deadline are ordered as if due this long after arrival, so that a stream
// of deadline requests cannot starve them.
constexpr auto kNoDeadlineHorizon = std::chrono::seconds(60);

struct Cancelled {};  // thrown out of the sampler when every client of a batch went away

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool edf_before(const std::shared_ptr<Job>& a, const std::shared_ptr<Job>& b) {
  return a->order_key != b->order_key ? a->order_key < b->order_key : a->number < b->number;
}

}  // namespace

Policy parse_policy(const std::string& name) {
  if (name == "elastic") return Policy::elastic;
  if (name == "fixed") return Policy::fixed;
  fail("unknown policy '", name, "' (expected elastic or fixed)");
}

Engine::Engine(models::DiffusionModel& model, CostTable table, EngineOptions options)
    : model_(model),
      spec_(model.spec()),
      table_(std::move(table)),
      options_(std::move(options)),
      metrics_(table_.budgets) {
  check(options_.max_batch >= 1, "max batch must be at least 1, got ", options_.max_batch);
  thread_ = std::thread([this] { worker(); });
}

Engine::~Engine() {
  shutdown();
}

Admission Engine::submit(const GenerateRequest& r) {
  auto job = std::make_shared<Job>();
  job->request = r;
  job->arrival = Clock::now();
  if (r.deadline_ms) {
    job->deadline = job->arrival + std::chrono::microseconds(std::llround(*r.deadline_ms * 1e3));
  }
  if (r.budget) {
    job->fixed_budget = r.budget;
  } else if (options_.policy == Policy::fixed || !r.deadline_ms) {
    job->fixed_budget = options_.default_budget;
  }
  job->order_key = job->deadline.value_or(job->arrival + kNoDeadlineHorizon);
  std::unique_lock lock(mu_);
  const double lowest = table_.budgets.front();
  const auto table = planning_table_locked();
  const auto ahead = plan_order_locked(job->arrival);
  const double drain_s = ahead.empty() ? 0.0 : finish_times(ahead, table, lowest).back();
  const auto refuse = [&](const std::string& why) {
    metrics_.rejected();
    return Admission{nullptr, why, std::max(1.0, std::ceil(drain_s))};
  };
  if (stopping_) return refuse("the server is shutting down");
  if (static_cast<int64_t>(queue_.size()) >= options_.max_queue) {
    return refuse("the queue is full (" + std::to_string(queue_.size()) + " requests)");
  }
  job->number = next_number_++;
  queue_.insert(std::upper_bound(queue_.begin(), queue_.end(), job, edf_before), job);
  if (options_.policy == Policy::elastic && job->deadline) {
    // Admit only when the new request can finish in time at the lowest budget without making
    // any request that could still finish in time late.
    const auto count_late = [&](const std::vector<PlanBatch>& order) {
      const auto finish = finish_times(order, table, lowest);
      int64_t late = 0;
      for (size_t i = 0; i < order.size(); ++i)
        late += order[i].deadline_s && finish[i] > *order[i].deadline_s;
      return late;
    };
    const auto with = plan_order_locked(job->arrival);
    if (count_late(with) > count_late(ahead)) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), job));
      return refuse(detail::concat(
          "deadline_ms ", *r.deadline_ms, " cannot be met even at the lowest budget ", lowest,
          ": the work ahead needs about ", std::llround(drain_s * 1e3), " ms"));
    }
  }
  remember_id_locked(job);
  metrics_.accepted();
  work_cv_.notify_one();
  return {job, "", 0};
}

bool Engine::wait(const Job& job, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(
      lock, timeout, [&] { return job.state == JobState::done || job.state == JobState::failed; });
}

void Engine::abandon(const std::shared_ptr<Job>& job) {
  std::lock_guard lock(mu_);
  job->abandoned = true;
  const auto it = std::find(queue_.begin(), queue_.end(), job);
  if (it == queue_.end()) return;
  queue_.erase(it);
  job->state = JobState::failed;
  job->result.error = "abandoned by the client";
  done_cv_.notify_all();
}

std::optional<nlohmann::json> Engine::progress(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  const Job& j = *it->second.first;
  const auto pos =
      std::find_if(queue_.begin(), queue_.end(), [&](const auto& q) { return q.get() == &j; });
  return nlohmann::json{{"id", id},
                        {"state", state_name(j.state)},
                        {"step", j.step},
                        {"steps", j.request.steps},
                        {"budget", j.step > 0 ? nlohmann::json(j.budget) : nlohmann::json(nullptr)},
                        {"queue_position", pos == queue_.end() ? 0 : (pos - queue_.begin()) + 1}};
}

void Engine::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

double Engine::time_scale() const {
  std::lock_guard lock(mu_);
  return time_scale_;
}

void Engine::observe_step_locked(double measured_ms, double predicted_ms) {
  if (!options_.follow_measured_speed || !(predicted_ms > 0) || !(measured_ms > 0)) return;
  // Exponential smoothing over ~10 steps: quick enough to follow a burst of load on the machine,
  // slow enough that one descheduled step does not swing the plan. Bounded so that a stall
  // cannot make the planner give up on every deadline.
  constexpr double kWeight = 0.1;
  const double ratio = measured_ms / predicted_ms;
  time_scale_ = std::clamp(time_scale_ + kWeight * (ratio - time_scale_), 0.25, 8.0);
}

std::string Engine::render_metrics() const {
  int64_t depth = 0, running = 0;
  double scale = 1;
  {
    std::lock_guard lock(mu_);
    depth = static_cast<int64_t>(queue_.size());
    running = static_cast<int64_t>(running_.size());
    scale = time_scale_;
  }
  return metrics_.render(depth, running) +
         "# HELP elit_planner_time_scale Measured step time over the cost table's prediction.\n"
         "# TYPE elit_planner_time_scale gauge\n"
         "elit_planner_time_scale " +
         std::to_string(scale) + "\n";
}

void Engine::remember_id_locked(const std::shared_ptr<Job>& job) {
  if (job->request.id.empty()) return;
  by_id_[job->request.id] = {job, job->number};
  id_order_.emplace_back(job->request.id, job->number);
  while (id_order_.size() > 512) {  // keep the latest requests' progress only
    const auto [id, number] = id_order_.front();
    id_order_.pop_front();
    const auto it = by_id_.find(id);
    if (it != by_id_.end() && it->second.second == number) by_id_.erase(it);
  }
}

std::vector<PlanBatch> Engine::plan_order_locked(Clock::time_point now) const {
  std::vector<PlanBatch> order;
  const auto view = [](const std::vector<std::shared_ptr<Job>>& jobs) {
    std::vector<const Job*> out;
    for (const auto& j : jobs) out.push_back(j.get());
    return out;
  };
  if (!running_.empty())
    order.push_back(plan_batch(view(running_), running_evaluations_left_, now));
  for (const auto& indices : group_batches(queue_, options_.max_batch)) {
    std::vector<std::shared_ptr<Job>> jobs;
    for (size_t i : indices) jobs.push_back(queue_[i]);
    order.push_back(plan_batch(view(jobs), jobs.front()->evaluations(), now));
  }
  return order;
}

std::vector<std::shared_ptr<Job>> Engine::take_batch_locked() {
  const auto indices = group_batches(queue_, options_.max_batch).front();
  std::vector<std::shared_ptr<Job>> batch;
  for (size_t i : indices) batch.push_back(queue_[i]);
  for (auto it = indices.rbegin(); it != indices.rend(); ++it) queue_.erase(queue_.begin() + *it);
  const auto now = Clock::now();
  for (auto& j : batch) {
    j->state = JobState::running;
    j->started = now;
  }
  running_ = batch;
  running_evaluations_left_ = batch.front()->evaluations();
  return batch;
}

void Engine::worker() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything admitted is served
      batch = take_batch_locked();
    }
    run_batch(batch);
  }
}

double Engine::choose_budget(const std::vector<std::shared_ptr<Job>>& batch) {
  if (batch.front()->fixed_budget) return *batch.front()->fixed_budget;
  std::lock_guard lock(mu_);
  return plan_budget(plan_order_locked(Clock::now()), planning_table_locked()).budget;
}

void Engine::run_batch(const std::vector<std::shared_ptr<Job>>& batch) {
  const auto& r = batch.front()->request;
  torch::TensorOptions model_options;
  for (const auto& p : model_.parameters()) {
    model_options = p.options();
    break;
  }
  // Every job's images start from its own seeds, as `elit sample` draws them.
  const std::vector<int64_t> chw{spec_.in_channels, spec_.height, spec_.width};
  std::vector<torch::Tensor> noise, labels;
  std::vector<std::string> prompts;  // one per image (a batch is all prompts or all classes)
  std::vector<std::shared_ptr<sampling::PerSampleNoise>> sde_noise;
  for (const auto& j : batch) {
    noise.push_back(sampling::initial_noise(j->request.seed, 0, j->request.num, chw,
                                            model_options.dtype().toScalarType()));
    labels.push_back(torch::full({j->request.num}, j->request.label, torch::kInt64));
    prompts.insert(prompts.end(), j->request.num, j->request.prompt);
    sde_noise.push_back(
        std::make_shared<sampling::PerSampleNoise>(j->request.seed, 0, j->request.num));
  }
  const auto x = torch::cat(noise).to(model_options.device());  // [N, C, H, W]
  const auto cond = (r.prompt.empty() ? model_.condition_for_labels(torch::cat(labels))
                                      : model_.condition_for_prompts(prompts))
                        .to(model_options.device());
  sampling::SamplerOptions options;
  options.guidance.scale = r.cfg_scale;
  options.guidance.uncond_budget = r.uncond_budget;
  options.teacache = options_.teacache;
  if (r.sampler == sampling::SamplerKind::sde) {
    options.noise = [&](const torch::Tensor& like) {  // like: [N, C, H, W]
      std::vector<torch::Tensor> parts;
      int64_t begin = 0;
      for (size_t k = 0; k < batch.size(); ++k) {
        const int64_t n = batch[k]->request.num;
        parts.push_back((*sde_noise[k])(like.narrow(0, begin, n)));
        begin += n;
      }
      return torch::cat(parts);
    };
  }
  int64_t planned_step = -1;
  double budget = 1.0;
  options.budget_at = [&](int64_t step, double) {
    if (step != planned_step) {  // Heun's second evaluation keeps its step's budget
      const bool all_gone = std::all_of(batch.begin(), batch.end(),
                                        [](const auto& j) { return j->abandoned.load(); });
      if (all_gone) throw Cancelled{};
      budget = choose_budget(batch);
      planned_step = step;
    }
    return budget;
  };
  const auto flops_of = [&](double b) {
    const auto it = options_.flops_per_row.lower_bound(b - 1e-9);
    return it == options_.flops_per_row.end() ? int64_t{0} : it->second;
  };
  const bool heun = r.sampler == sampling::SamplerKind::heun;
  std::vector<const Job*> jobs;
  for (const auto& j : batch) jobs.push_back(j.get());
  const PlanBatch shape = plan_batch(jobs, /*evaluations=*/1, Clock::now());  // images, guidance
  Stopwatch step_watch;  // the time of each step, to keep the planner's table honest
  const auto on_step = [&](const sampling::StepInfo& s) {
    const bool second = heun && s.step < s.steps - 1;
    const double measured_ms = 1e3 * step_watch.seconds();
    step_watch.restart();
    const double predicted_ms =
        (second ? 2 : 1) *
        table_.evaluation_ms(s.budget, shape.images, shape.cfg, shape.guide_budget);
    int64_t per_image = sampling::evaluation_flops(options.guidance, s.t, s.budget, flops_of);
    if (second)
      per_image += sampling::evaluation_flops(options.guidance, s.t_next, s.budget, flops_of);
    std::lock_guard lock(mu_);
    observe_step_locked(measured_ms, predicted_ms);
    for (const auto& j : batch) {
      j->step = s.step + 1;
      j->budget = s.budget;
      j->result.budgets.push_back(s.budget);
      j->result.flops += per_image * j->request.num;
    }
    running_evaluations_left_ -= second ? 2 : 1;
  };
  try {
    const auto grid = sampling::time_grid(r.sampler, r.steps);
    auto images = sampling::run_sampler(r.sampler, model_, x, cond, grid, options, on_step);
    if (options_.to_pixels) {
      torch::NoGradGuard no_grad;
      images = options_.to_pixels(images);
    }
    finish_batch(batch, images.cpu(), "");
  } catch (const Cancelled&) {
    finish_batch(batch, {}, "abandoned by the client");
  } catch (const std::exception& e) {
    finish_batch(batch, {}, e.what());
  }
}

void Engine::finish_batch(const std::vector<std::shared_ptr<Job>>& batch,
                          const torch::Tensor& images, const std::string& error) {
  const auto now = Clock::now();
  std::vector<ServedRequest> served;
  {
    std::lock_guard lock(mu_);
    int64_t begin = 0;
    for (const auto& j : batch) {
      auto& res = j->result;
      const int64_t n = j->request.num;
      if (images.defined()) res.images = images.narrow(0, begin, n);  // [n, C, H, W]
      begin += n;
      res.error = error;
      res.queue_ms = ms_between(j->arrival, j->started);
      res.compute_ms = ms_between(j->started, now);
      res.latency_ms = ms_between(j->arrival, now);
      res.deadline_met = !j->deadline || now <= *j->deadline;
      j->state = error.empty() ? JobState::done : JobState::failed;
      if (error.empty()) {
        double mean = 0;
        for (double b : res.budgets) mean += b;
        mean /= std::max<size_t>(res.budgets.size(), 1);
        served.push_back({res.latency_ms / 1e3, mean, n, res.flops, res.deadline_met});
      }
    }
    running_.clear();
    running_evaluations_left_ = 0;
  }
  for (const auto& s : served) metrics_.served(s);
  if (!error.empty() && error != "abandoned by the client") metrics_.failed();
  done_cv_.notify_all();
}

}  // namespace elit::serve
