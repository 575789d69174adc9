list(APPEND ELIT_FAST_TEST_SOURCES
  sampling/sampler_parity_test.cpp
  sampling/guidance_test.cpp
  sampling/budget_schedule_test.cpp
  sampling/generate_test.cpp
  sampling/cost_test.cpp
  sampling/teacache_test.cpp
  sampling/forward_costs_test.cpp
  sampling/fast_sampling_cli_test.cpp
  sampling/cli_test.cpp
  sampling/vae_cli_test.cpp
)
