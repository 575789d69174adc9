list(APPEND ELIT_SOURCES
  src/metrics/flops.cpp
  src/metrics/flops_counter.cpp
)
