// The library's forward cost model (sampling/forward_costs.h) built from a loaded model, for
// `elit budgets` and `elit guidance`.
#pragma once
#include "elit/sampling/forward_costs.h"
#include "sampling_flags.h"

namespace elit::app {

class ForwardCosts : public sampling::ForwardCosts {
 public:
  explicit ForwardCosts(const LoadedModel& model)
      : sampling::ForwardCosts(*model.model, model.file.config) {}
};

using sampling::synchronize;

}  // namespace elit::app
