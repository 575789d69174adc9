# The serving engine (queue, planner, calibration, metrics): libtorch + nlohmann only.
list(APPEND ELIT_SOURCES
  src/serve/cost_table.cpp
  src/serve/calibration.cpp
  src/serve/planner.cpp
  src/serve/speed_tracker.cpp
  src/serve/arrival_rate.cpp
  src/serve/request.cpp
  src/serve/job.cpp
  src/serve/metrics.cpp
  src/serve/engine.cpp
  src/serve/encoding.cpp
)
