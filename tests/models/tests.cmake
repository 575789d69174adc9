list(APPEND ELIT_FAST_TEST_SOURCES
  models/batched_matmul_test.cpp
  models/flat_linear_test.cpp
  models/strided_attention_test.cpp
  models/fused_kernels_test.cpp
  models/dropout_draws_test.cpp
  models/budget_test.cpp
  models/grouping_test.cpp
  models/parity_test.cpp
  models/sit_test.cpp
  models/case_file.cpp
  models/reference_case.cpp
  models/mmdit_parity_test.cpp
  models/mmdit_test.cpp
  models/mmdit_text_test.cpp
  models/backbone_case.cpp
  models/backbone_test_util.cpp
  models/backbone_parity_test.cpp
  models/neighborhood_attention_test.cpp
  models/uvit_test.cpp
  models/hdit_test.cpp
  models/backbone_typed_test.cpp
  models/autoencoder_kl_test.cpp
  models/autoencoder_kl_tiling_test.cpp
)
list(APPEND ELIT_SLOW_TEST_SOURCES
  models/mmdit_train_test.cpp
)
