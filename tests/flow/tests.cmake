list(APPEND ELIT_FAST_TEST_SOURCES
  flow/rectified_flow_test.cpp
)
