// The serving engine: an earliest-deadline-first queue and one worker that samples the running
// requests one model evaluation at a time, all of them in one forward (continuous batching: a
// request joins the running ones at the next evaluation, at its own step and time, and leaves
// as soon as it is done), with the budget of every forward chosen by the policy (elastic: the
// planner, from the measured cost table; fixed: one budget).
//
// A request's image i starts from the noise of sample_seed(seed, i), exactly as `elit sample`
// draws it, so a request served alone gives `elit sample`'s images for the same seed, steps and
// budget.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "elit/sampling/teacache.h"
#include "elit/serve/arrival_rate.h"
#include "elit/serve/job.h"
#include "elit/serve/metrics.h"
#include "elit/serve/speed_tracker.h"

namespace elit::serve {

enum class Policy { elastic, fixed };
Policy parse_policy(const std::string& name);  // elastic|fixed

struct EngineOptions {
  Policy policy = Policy::elastic;
  double default_budget = 1.0;  // fixed policy, and requests without a deadline
  int64_t max_batch = 8;        // images per forward
  // true: requests join the running ones at every evaluation (continuous batching); false: a
  // batch of requests with the same sampler and steps runs from start to end (static batching).
  bool continuous = true;
  int64_t max_queue = 256;                  // requests waiting; more are refused with 503
  std::map<double, int64_t> flops_per_row;  // model FLOPs of one forward row at each budget
  bool follow_measured_speed = true;        // false: plan from the table as given (time_scale 1)
  // The elastic policy plans as if every step took (1 + headroom) x its expected time, so that
  // the normal spread of step times does not turn a request admitted at the edge of its
  // deadline into a miss. 0: plan on the expected time. 0.2 met more deadlines than 0.1 at 2C
  // and 3C without refusing more (docs/serving.md, "Headroom 0.2").
  double headroom = 0.2;
  // While requests arrive faster than full-budget forwards can serve them, the elastic policy
  // leaves room for the arrivals it expects (at the recent rate, over one deadline, shaped like
  // the latest request): it does not raise the running requests' budget with the time that the
  // next arrivals need, which would refuse them. false: plan for the requests that are there.
  bool plan_arrivals = true;
  double arrival_window_s = 10;  // the arrival rate counts arrivals this recent (ArrivalRate)
  // Samples [N, C, H, W] in model space -> images [N, C', H', W'] in [-1, 1]: a latent model's
  // decoder (run by the worker, so compute_ms includes it). Unset: the samples are the images.
  std::function<torch::Tensor(const torch::Tensor&)> to_pixels;
  // TeaCache for every batch (a fresh state per batch); unset: every forward runs in full.
  std::optional<sampling::TeaCacheOptions> teacache;
};

// The answer to a submission: a job to wait for, or why it was refused (503).
struct Admission {
  std::shared_ptr<Job> job;
  std::string rejection;
  double retry_after_s = 1;
};

class Engine {
 public:
  Engine(models::DiffusionModel& model, CostTable table, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Admission submit(const GenerateRequest& request);
  // Blocks until the job is done or failed, or `timeout` passes; true when it finished.
  bool wait(const Job& job, std::chrono::milliseconds timeout);
  // The client went away: a queued job leaves the queue, a running one before the next forward.
  void abandon(const std::shared_ptr<Job>& job);
  // {"state", "step", "steps", "budget", "queue_position"} of the latest job with this id.
  std::optional<nlohmann::json> progress(const std::string& id) const;
  // Steps the job has finished (read under the engine's lock).
  int64_t steps_done(const Job& job) const;
  // Accepts nothing new, finishes the queue and the running requests, then stops the worker.
  void shutdown();

  const CostTable& table() const { return table_; }
  // Measured forward time / the table's prediction over recent forwards (SpeedTracker): how much
  // slower (> 1) or faster this machine runs now than at calibration. The planner and admission
  // multiply the table by it and by 1 + headroom.
  double time_scale() const;
  const EngineOptions& options() const { return options_; }
  Metrics& metrics() { return metrics_; }
  std::string render_metrics() const;

 private:
  struct Active;  // a running request and its sampler state (engine.cpp)
  void worker();
  void admit_locked();
  std::shared_ptr<Active> start_locked(const std::shared_ptr<Job>& job);
  // The running requests, then the queue, as the planner sees them; with `expected`, also the
  // arrivals it expects (empty unless the elastic policy plans for arrivals).
  std::vector<PlanRequest> plan_requests_locked(Clock::time_point now,
                                                std::vector<PlanRequest>* expected = nullptr) const;
  Batching batching_rule() const;  // how the worker groups requests (planner.h)
  // Whether `other` may run in one group with `lead` (TeaCache's groups also share steps).
  bool joins(const Job& lead, const Job& other) const;
  double choose_budget();
  // One evaluation of every running request; returns those that finished.
  std::vector<std::shared_ptr<Active>> evaluate(const std::vector<std::shared_ptr<Active>>& group,
                                                double budget);
  void finish(const std::vector<std::shared_ptr<Active>>& done, const std::string& error);
  void remember_id_locked(const std::shared_ptr<Job>& job);

  models::DiffusionModel& model_;
  models::ModelSpec spec_;
  CostTable table_;
  SpeedTracker speed_;           // guarded by mu_
  ArrivalRate arrivals_;         // guarded by mu_
  std::shared_ptr<Job> latest_;  // the latest request the elastic policy plans (guarded by mu_)
  CostTable planning_table_locked() const {
    return table_.scaled(time_scale_locked() * (1 + options_.headroom));
  }
  double time_scale_locked() const { return options_.follow_measured_speed ? speed_.scale() : 1.0; }
  EngineOptions options_;
  Metrics metrics_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::shared_ptr<Job>> queue_;  // EDF order
  // The requests being sampled: changed by the worker only, under mu_.
  std::vector<std::shared_ptr<Active>> running_;
  std::optional<sampling::TeaCache> teacache_;  // per running group (TeaCache keeps per-run state)
  uint64_t next_number_ = 0;
  bool stopping_ = false;
  std::map<std::string, std::pair<std::shared_ptr<Job>, uint64_t>> by_id_;  // id -> job, number
  std::deque<std::pair<std::string, uint64_t>> id_order_;
  std::thread thread_;
};

}  // namespace elit::serve
