list(APPEND ELIT_FAST_TEST_SOURCES
  runtime/timing_test.cpp
)
