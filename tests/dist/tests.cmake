list(APPEND ELIT_FAST_TEST_SOURCES
  dist/environment_test.cpp
)
list(APPEND ELIT_SLOW_TEST_SOURCES
  dist/process_group_test.cpp
  dist/distributed_trainer_test.cpp
  dist/cli_dist_test.cpp
)
