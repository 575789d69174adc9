list(APPEND ELIT_FAST_TEST_SOURCES
  app/hostile_config_test.cpp
  app/hostile_cli_test.cpp
)
# Checkpoint durability: SIGKILL `elit train` at random moments and check the latest checkpoint
# loads and --resume continues from it (scripts/kill_loop.sh --kills 50 for the full campaign).
add_test(NAME CheckpointKillLoop.FiveKills
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/kill_loop.sh --kills 5 --build ${CMAKE_BINARY_DIR})
set_tests_properties(CheckpointKillLoop.FiveKills PROPERTIES LABELS slow TIMEOUT 300)
