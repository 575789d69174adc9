#include "elit/serve/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"
#include "elit/sampling/sampler_state.h"
#include "elit/sampling/seeds.h"

namespace elit::serve {
namespace {

// Requests without a deadline are ordered as if due this long after arrival, so that a stream
// of deadline requests cannot starve them.
constexpr auto kNoDeadlineHorizon = std::chrono::seconds(60);

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
      arrivals_(options.arrival_window_s),
      options_(std::move(options)),
      metrics_(table_.budgets) {
  check(options_.max_batch >= 1, "max batch must be at least 1, got ", options_.max_batch);
  check(options_.headroom >= 0 && options_.headroom <= 1, "headroom must be in [0, 1], got ",
        options_.headroom);
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
  if (!stopping_) arrivals_.observe(job->arrival);  // the offered load, refused or not
  const double lowest = table_.budgets.front();
  const auto table = planning_table_locked();
  const auto batching = batching_rule();
  const auto ahead = plan_requests_locked(job->arrival);
  double drain_s = 0;
  for (const double t : finish_times(ahead, table, lowest, batching))
    drain_s = std::max(drain_s, t);
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
    const auto with = plan_requests_locked(job->arrival);
    if (count_late(with, table, lowest, batching) > count_late(ahead, table, lowest, batching)) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), job));
      return refuse(detail::concat(
          "deadline_ms ", *r.deadline_ms, " cannot be met even at the lowest budget ", lowest,
          ": the work ahead needs about ", std::llround(drain_s * 1e3), " ms"));
    }
  }
  if (options_.policy == Policy::elastic && job->deadline && !job->fixed_budget) latest_ = job;
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

int64_t Engine::steps_done(const Job& job) const {
  std::lock_guard lock(mu_);
  return job.step;
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
  return time_scale_locked();
}

std::string Engine::render_metrics() const {
  int64_t depth = 0, running = 0;
  double scale = 1, rate = 0;
  {
    std::lock_guard lock(mu_);
    depth = static_cast<int64_t>(queue_.size());
    running = static_cast<int64_t>(running_.size());
    scale = time_scale_locked();
    rate = arrivals_.per_second(Clock::now());
  }
  return metrics_.render(depth, running) +
         "# HELP elit_planner_time_scale Median measured forward time over the cost table's.\n"
         "# TYPE elit_planner_time_scale gauge\n"
         "elit_planner_time_scale " +
         std::to_string(scale) +
         "\n"
         "# HELP elit_arrival_rate Requests per second over the latest arrivals (refused "
         "included).\n"
         "# TYPE elit_arrival_rate gauge\n"
         "elit_arrival_rate " +
         std::to_string(rate) + "\n";
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

// A running request: its job, the sampler state and the condition rows of its images.
struct Engine::Active {
  std::shared_ptr<Job> job;
  std::optional<sampling::SamplerState> state;
  models::Condition cond, null_cond;  // null_cond: CFG / cheap CFG only
  torch::Dtype dtype;                 // what the model runs in
  int64_t evaluations_left = 0;       // guarded by mu_
};

bool Engine::joins(const Job& lead, const Job& other) const {
  return options_.teacache ? same_batch(lead, other) : same_forward(lead, other);
}

Batching Engine::batching_rule() const {
  return {options_.max_batch, !options_.continuous || options_.teacache.has_value()};
}

std::vector<PlanRequest> Engine::plan_requests_locked(Clock::time_point now,
                                                      std::vector<PlanRequest>* expected) const {
  // Kinds: requests that admit_locked lets share a running group get the same number.
  std::vector<const Job*> kinds;
  const auto kind_of = [&](const Job& j) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      if (joins(*kinds[k], j)) return static_cast<int64_t>(k);
    }
    kinds.push_back(&j);
    return static_cast<int64_t>(kinds.size() - 1);
  };
  std::vector<PlanRequest> order;
  for (const auto& a : running_) {
    order.push_back(plan_request(*a->job, a->evaluations_left, now));
    order.back().kind = kind_of(*a->job);
    order.back().running = true;
  }
  for (const auto& j : queue_) {
    order.push_back(plan_request(*j, j->evaluations(), now));
    order.back().kind = kind_of(*j);
  }
  if (!expected) return order;
  expected->clear();
  if (!options_.plan_arrivals || options_.policy != Policy::elastic || !latest_) return order;
  auto typical = plan_request(*latest_, latest_->evaluations(), now);
  typical.kind = kind_of(*latest_);
  *expected = expected_arrivals(table_.scaled(time_scale_locked()), arrivals_.per_second(now),
                                typical, *latest_->request.deadline_ms / 1e3, options_.max_batch);
  return order;
}

std::shared_ptr<Engine::Active> Engine::start_locked(const std::shared_ptr<Job>& job) {
  const auto& r = job->request;
  torch::TensorOptions model_options;
  for (const auto& p : model_.parameters()) {
    model_options = p.options();
    break;
  }
  auto a = std::make_shared<Active>();
  a->job = job;
  // The request's images start from its own seeds, as `elit sample` draws them.
  const auto x =
      sampling::initial_noise(r.seed, 0, r.num, {spec_.in_channels, spec_.height, spec_.width},
                              model_options.dtype().toScalarType())
          .to(model_options.device());  // [num, C, H, W]
  sampling::NoiseFn noise;
  if (r.sampler == sampling::SamplerKind::sde) {
    auto draws = std::make_shared<sampling::PerSampleNoise>(r.seed, 0, r.num);
    noise = [draws](const torch::Tensor& like) { return (*draws)(like); };
  }
  a->dtype = x.scalar_type();
  a->state.emplace(r.sampler, sampling::time_grid(r.sampler, r.steps), x, noise);
  a->cond =
      (r.prompt.empty() ? model_.condition_for_labels(torch::full({r.num}, r.label, torch::kInt64))
                        : model_.condition_for_prompts(std::vector<std::string>(r.num, r.prompt)))
          .to(model_options.device());
  if (r.cfg_scale > 1.0) a->null_cond = model_.null_condition(a->cond);
  a->evaluations_left = job->evaluations();
  job->state = JobState::running;
  job->started = Clock::now();
  return a;
}

// At an evaluation boundary: queued requests join the running ones, in EDF order, while the
// head of the queue can share their forwards and its images fit. A head that cannot share waits
// until the running ones are done, so that nothing overtakes it. Static batching, and TeaCache
// (whose decisions are per sampling run), start a group together and run it to its end.
void Engine::admit_locked() {
  if (!running_.empty() && batching_rule().lockstep) return;
  int64_t images = 0;
  for (const auto& a : running_) images += a->job->request.num;
  while (!queue_.empty()) {
    const auto head = queue_.front();
    if (!running_.empty()) {
      const Job& lead = *running_.front()->job;
      if (!joins(lead, *head) || images + head->request.num > options_.max_batch) break;
    }
    queue_.erase(queue_.begin());
    images += head->request.num;
    running_.push_back(start_locked(head));
    if (running_.size() == 1 && options_.teacache) teacache_.emplace(*options_.teacache, nullptr);
  }
}

void Engine::worker() {
  // Inference only: without this every state would keep the autograd graph of all the forwards
  // before it, and requests sharing forwards would keep each other's.
  torch::NoGradGuard no_grad;
  for (;;) {
    std::vector<std::shared_ptr<Active>> group;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !running_.empty(); });
      // Clients that went away leave before the next forward.
      std::vector<std::shared_ptr<Active>> gone;
      for (const auto& a : running_) {
        if (a->job->abandoned) gone.push_back(a);
      }
      lock.unlock();
      if (!gone.empty()) finish(gone, "abandoned by the client");
      lock.lock();
      admit_locked();
      if (running_.empty()) {
        if (queue_.empty() && stopping_) return;  // everything admitted is served
        continue;
      }
      group = running_;
    }
    std::vector<std::shared_ptr<Active>> done;
    try {
      done = evaluate(group, choose_budget());
    } catch (const std::exception& e) {
      finish(group, e.what());
      continue;
    }
    if (!done.empty()) finish(done, "");
  }
}

double Engine::choose_budget() {
  std::lock_guard lock(mu_);
  const auto& lead = *running_.front()->job;
  if (lead.fixed_budget) return *lead.fixed_budget;
  std::vector<PlanRequest> expected;
  const auto order = plan_requests_locked(Clock::now(), &expected);
  return plan_budget(order, planning_table_locked(), batching_rule(), expected).budget;
}

std::vector<std::shared_ptr<Engine::Active>> Engine::evaluate(
    const std::vector<std::shared_ptr<Active>>& group, double budget) {
  const auto& r = group.front()->job->request;  // guidance is the same for the whole group
  sampling::GuidanceOptions guidance;
  guidance.scale = r.cfg_scale;
  guidance.uncond_budget = r.uncond_budget;
  // The rows of every running request at its own time: [N, C, H, W] and [N].
  std::vector<torch::Tensor> xs, ts;
  models::Condition cond, null_cond;
  int64_t images = 0;
  for (size_t k = 0; k < group.size(); ++k) {
    const auto& a = *group[k];
    xs.push_back(a.state->input());
    ts.push_back(torch::full({a.job->request.num}, a.state->t(), torch::kFloat64));
    cond = k == 0 ? a.cond : models::Condition::cat(cond, a.cond);
    if (a.null_cond.batch() > 0)
      null_cond = k == 0 ? a.null_cond : models::Condition::cat(null_cond, a.null_cond);
    images += a.job->request.num;
  }
  if (teacache_ && !group.front()->state->correcting()) {
    teacache_->begin_step(group.front()->state->step(), group.front()->state->steps());
  }
  Stopwatch watch;
  sampling::GuidedCall call;
  const auto v = sampling::guided_velocity(model_, torch::cat(xs), torch::cat(ts), cond, null_cond,
                                           budget, guidance, group.front()->dtype, &call,
                                           teacache_ ? &*teacache_ : nullptr);
  const double measured_ms = 1e3 * watch.seconds();
  const auto flops_of = [&](double b) {
    const auto it = options_.flops_per_row.lower_bound(b - 1e-9);
    return it == options_.flops_per_row.end() ? int64_t{0} : it->second;
  };
  std::vector<std::shared_ptr<Active>> done;
  std::vector<bool> stepped;
  std::vector<int64_t> flops;
  int64_t begin = 0;
  for (const auto& a : group) {
    const int64_t n = a->job->request.num;
    flops.push_back(sampling::evaluation_flops(guidance, a->state->t(), budget, flops_of) * n);
    stepped.push_back(a->state->advance(v.narrow(0, begin, n)));
    begin += n;
  }
  std::lock_guard lock(mu_);
  const auto lead = plan_request(*group.front()->job, 1, Clock::now());
  const double predicted_ms = table_.evaluation_ms(budget, images, lead.cfg, lead.guide_budget);
  speed_.observe(measured_ms, predicted_ms);
  metrics_.evaluated(measured_ms / 1e3, predicted_ms / 1e3);
  for (size_t k = 0; k < group.size(); ++k) {
    auto& a = *group[k];
    --a.evaluations_left;
    a.job->budget = budget;
    a.job->result.flops += flops[k];
    if (!stepped[k]) continue;
    a.job->step = a.state->step();
    a.job->result.budgets.push_back(budget);
    if (a.state->done()) done.push_back(group[k]);
  }
  return done;
}

void Engine::finish(const std::vector<std::shared_ptr<Active>>& done, const std::string& error) {
  // Decoding (a latent model's VAE) runs outside the lock, once per finished request.
  std::vector<torch::Tensor> images(done.size());
  std::string failure = error;
  if (error.empty()) {
    try {
      torch::NoGradGuard no_grad;
      for (size_t k = 0; k < done.size(); ++k) {
        const auto& x = done[k]->state->x();  // [num, C, H, W] float64
        images[k] = (options_.to_pixels ? options_.to_pixels(x) : x).cpu();
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  const auto now = Clock::now();
  std::vector<ServedRequest> served;
  {
    std::lock_guard lock(mu_);
    for (size_t k = 0; k < done.size(); ++k) {
      auto& j = *done[k]->job;
      auto& res = j.result;
      if (failure.empty()) res.images = images[k];
      res.error = failure;
      res.queue_ms = ms_between(j.arrival, j.started);
      res.compute_ms = ms_between(j.started, now);
      res.latency_ms = ms_between(j.arrival, now);
      res.deadline_met = !j.deadline || now <= *j.deadline;
      j.state = failure.empty() ? JobState::done : JobState::failed;
      if (failure.empty()) {
        double mean = 0;
        for (double b : res.budgets) mean += b;
        mean /= std::max<size_t>(res.budgets.size(), 1);
        served.push_back({res.latency_ms / 1e3, mean, j.request.num, res.flops, res.deadline_met});
      }
      running_.erase(std::find(running_.begin(), running_.end(), done[k]));
    }
    if (running_.empty()) teacache_.reset();
  }
  for (const auto& s : served) metrics_.served(s);
  if (!failure.empty() && failure != "abandoned by the client") {
    for (size_t k = 0; k < done.size(); ++k) metrics_.failed();
  }
  done_cv_.notify_all();
}

}  // namespace elit::serve
