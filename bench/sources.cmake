list(APPEND ELIT_BENCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/micro_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/attention_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batched_matmul_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/latent_interface_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fused_kernels_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/linear_bench.cpp
)
