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

std::vector<std::vector<size_t>> group_batches(const std::vector<std::shared_ptr<Job>>& queue,
                                               int64_t max_images) {
  std::vector<std::vector<size_t>> batches;
  std::vector<bool> taken(queue.size(), false);
  for (size_t head = 0; head < queue.size(); ++head) {
    if (taken[head]) continue;
    std::vector<size_t> batch{head};
    taken[head] = true;
    int64_t images = queue[head]->request.num;
    for (size_t i = head + 1; i < queue.size(); ++i) {
      if (taken[i] || !same_batch(*queue[head], *queue[i])) continue;
      if (images + queue[i]->request.num > max_images) continue;
      batch.push_back(i);
      taken[i] = true;
      images += queue[i]->request.num;
    }
    batches.push_back(batch);
  }
  return batches;
}

PlanBatch plan_batch(const std::vector<const Job*>& jobs, int64_t evaluations,
                     Clock::time_point now) {
  PlanBatch b;
  b.images = 0;
  b.evaluations = evaluations;
  b.cfg = jobs.front()->cfg();
  b.guide_budget =
      jobs.front()->request.cfg_scale > 1.0 ? jobs.front()->request.uncond_budget : std::nullopt;
  b.fixed_budget = jobs.front()->fixed_budget;
  for (const Job* j : jobs) {
    b.images += j->request.num;
    if (j->deadline) {
      const double s = std::chrono::duration<double>(*j->deadline - now).count();
      b.deadline_s = b.deadline_s ? std::min(*b.deadline_s, s) : s;
    }
  }
  return b;
}

}  // namespace elit::serve
