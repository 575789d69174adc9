list(APPEND ELIT_SOURCES
  src/sampling/time_grid.cpp
  src/sampling/budget_schedule.cpp
  src/sampling/guidance.cpp
  src/sampling/sampler.cpp
  src/sampling/sampler_state.cpp
  src/sampling/seeds.cpp
  src/sampling/generate.cpp
  src/sampling/cost.cpp
  src/sampling/forward_costs.cpp
  src/sampling/teacache.cpp
  src/sampling/presets.cpp
)
