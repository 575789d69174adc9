#include "elit/serve/planner.h"

#include <algorithm>

namespace elit::serve {

std::vector<double> finish_times(const std::vector<PlanRequest>& order, const CostTable& table,
                                 double budget, const Batching& batching) {
  std::vector<double> finish(order.size(), 0.0);
  std::vector<int64_t> left(order.size());
  for (size_t i = 0; i < order.size(); ++i) left[i] = std::max<int64_t>(order[i].evaluations, 1);
  std::vector<size_t> running;
  int64_t images = 0;
  size_t next = 0;
  const auto join = [&] {
    images += order[next].images;
    running.push_back(next++);
  };
  while (next < order.size() && order[next].running) join();
  double t = 0;
  while (!running.empty() || next < order.size()) {
    // Idle until an expected arrival comes.
    if (running.empty()) t = std::max(t, order[next].arrival_s);
    // An evaluation boundary: the queue's head joins as Engine::admit_locked lets it, once it
    // has arrived.
    if (running.empty() || !batching.lockstep) {
      while (next < order.size()) {
        const auto& head = order[next];
        if (head.arrival_s > t) break;
        if (!running.empty() && (head.kind != order[running.front()].kind ||
                                 images + head.images > batching.max_images))
          break;
        join();
      }
    }
    const auto& lead = order[running.front()];
    t += 1e-3 * table.evaluation_ms(lead.fixed_budget.value_or(budget), images, lead.cfg,
                                    lead.guide_budget);
    std::vector<size_t> still, done;
    for (const size_t i : running) (--left[i] == 0 ? done : still).push_back(i);
    for (const size_t i : done) {  // each finished request is decoded on its own
      t += 1e-3 * table.decode_batch_ms(order[i].images);
      images -= order[i].images;
    }
    for (const size_t i : done) finish[i] = t;
    running = std::move(still);
  }
  return finish;
}

int64_t count_late(const std::vector<PlanRequest>& order, const CostTable& table, double budget,
                   const Batching& batching) {
  const auto finish = finish_times(order, table, budget, batching);
  int64_t late = 0;
  for (size_t i = 0; i < order.size(); ++i)
    late += order[i].deadline_s && finish[i] > *order[i].deadline_s;
  return late;
}

Plan plan_budget(const std::vector<PlanRequest>& order, const CostTable& table,
                 const Batching& batching, const std::vector<PlanRequest>& expected) {
  // The real requests, then the expected ones (built only when there are any: this runs before
  // every evaluation).
  std::vector<PlanRequest> with;
  int64_t late_anyway = 0;
  if (!expected.empty()) {
    with = order;
    with.insert(with.end(), expected.begin(), expected.end());
    // Expected arrivals that would be late even at the lowest budget (an overload) are not the
    // running requests' to make room for.
    late_anyway = count_late(with, table, table.budgets.front(), batching);
  }
  // Budgets ascend, and a lower budget never costs more in a measured table that is monotone;
  // scanning from the top returns the largest feasible one even where noise breaks monotonicity.
  for (auto it = table.budgets.rbegin(); it != table.budgets.rend(); ++it) {
    if (count_late(order, table, *it, batching) > 0) continue;
    if (!expected.empty() && count_late(with, table, *it, batching) > late_anyway) continue;
    return {*it, true};
  }
  return {table.budgets.front(), false};
}

double sustainable_budget(const CostTable& table, double rate, const PlanRequest& typical,
                          int64_t max_images) {
  // Seconds of work one request needs at `budget` when forwards run full (the cheapest per
  // image) and its images are decoded, times the arrivals per second: the share of the
  // worker's time the load takes.
  const auto load = [&](double budget) {
    const auto rows = std::max<int64_t>(max_images, typical.images);
    const double per_image_ms =
        table.evaluation_ms(budget, rows, typical.cfg, typical.guide_budget) / rows;
    const double request_ms =
        static_cast<double>(typical.images * typical.evaluations) * per_image_ms +
        table.decode_batch_ms(typical.images);
    return rate * request_ms / 1e3;
  };
  for (auto it = table.budgets.rbegin(); it != table.budgets.rend(); ++it) {
    if (load(*it) <= 1.0) return *it;
  }
  return table.budgets.front();
}

std::vector<PlanRequest> expected_arrivals(const CostTable& table, double rate,
                                           const PlanRequest& typical, double deadline_s,
                                           int64_t max_images) {
  std::vector<PlanRequest> out;
  if (!(rate > 0) || sustainable_budget(table, rate, typical, max_images) >= table.budgets.back())
    return out;
  const auto count = std::min<int64_t>(64, static_cast<int64_t>(rate * deadline_s));
  for (int64_t k = 1; k <= count; ++k) {
    auto r = typical;
    r.running = false;
    r.arrival_s = static_cast<double>(k) / rate;
    r.deadline_s = r.arrival_s + deadline_s;
    out.push_back(r);
  }
  return out;
}

}  // namespace elit::serve
