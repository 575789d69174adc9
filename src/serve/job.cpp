#include "elit/serve/job.h"

#include <algorithm>

namespace elit::serve {

const char* state_name(JobState state) {
  switch (state) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
  }
  return "?";
}

int64_t Job::evaluations() const {
  return request.sampler == sampling::SamplerKind::heun ? 2 * request.steps - 1 : request.steps;
}

bool same_forward(const Job& a, const Job& b) {
  const auto& x = a.request;
  const auto& y = b.request;
  return x.prompt.empty() == y.prompt.empty() && x.cfg_scale == y.cfg_scale &&
         x.uncond_budget == y.uncond_budget && a.fixed_budget == b.fixed_budget;
}

bool same_batch(const Job& a, const Job& b) {
  return same_forward(a, b) && a.request.sampler == b.request.sampler &&
         a.request.steps == b.request.steps;
}

PlanRequest plan_request(const Job& job, int64_t evaluations, Clock::time_point now) {
  PlanRequest p;
  p.images = job.request.num;
  p.evaluations = evaluations;
  p.cfg = job.cfg();
  p.guide_budget = job.request.cfg_scale > 1.0 ? job.request.uncond_budget : std::nullopt;
  p.fixed_budget = job.fixed_budget;
  if (job.deadline) p.deadline_s = std::chrono::duration<double>(*job.deadline - now).count();
  return p;
}

}  // namespace elit::serve
