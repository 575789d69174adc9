// A request inside the server: its arrival, deadline, the budget it is pinned to (if any), its
// progress and its result, shared by the HTTP handler that waits for it and the worker that runs
// it. Also the batching rules: which jobs share a forward.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "elit/serve/planner.h"
#include "elit/serve/request.h"

namespace elit::serve {

using Clock = std::chrono::steady_clock;

enum class JobState { queued, running, done, failed };
const char* state_name(JobState state);

struct JobResult {
  torch::Tensor images;         // [num, C, H, W] in [-1, 1] (decoded when the engine decodes)
  std::vector<double> budgets;  // the budget of every step as run
  int64_t flops = 0;            // the request's sampling FLOPs (all images, guidance included)
  double queue_ms = 0, compute_ms = 0, latency_ms = 0;
  bool deadline_met = true;
  std::string error;  // failed jobs
};

struct Job {
  GenerateRequest request;
  uint64_t number = 0;  // arrival order
  Clock::time_point arrival;
  std::optional<Clock::time_point> deadline;
  std::optional<double> fixed_budget;  // unset: the elastic planner picks
  Clock::time_point order_key;         // EDF key: the deadline, or a late pseudo-deadline
  // Guarded by the engine's mutex.
  JobState state = JobState::queued;
  int64_t step = 0;   // steps finished
  double budget = 0;  // budget of the latest step
  Clock::time_point started;
  JobResult result;
  std::atomic<bool> abandoned{false};  // the client went away

  bool cfg() const { return request.cfg_scale > 1.0 && !request.uncond_budget; }
  // Sampler evaluations of the whole request (Heun: two per step but the last).
  int64_t evaluations() const;
};

// Whether two jobs can share every forward: the same kind of condition (class or prompt),
// guidance and pinned budget. Their samplers, steps and times may differ (continuous batching).
bool same_forward(const Job& a, const Job& b);
// Whether two jobs can also run in lockstep from start to end (TeaCache's per-run state):
// same_forward, and the same sampler and steps.
bool same_batch(const Job& a, const Job& b);

// The planner's view of a job with `evaluations` evaluations left, at time `now` (its kind and
// whether it runs are the engine's to set).
PlanRequest plan_request(const Job& job, int64_t evaluations, Clock::time_point now);

}  // namespace elit::serve
