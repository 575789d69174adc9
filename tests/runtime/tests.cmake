list(APPEND ELIT_FAST_TEST_SOURCES
  runtime/config_schema_test.cpp
  runtime/timing_test.cpp
)
