list(APPEND ELIT_FAST_TEST_SOURCES
  metrics/flops_test.cpp
)
