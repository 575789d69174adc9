list(APPEND ELIT_FAST_TEST_SOURCES
  metrics/flops_test.cpp
  metrics/flops_backbones_test.cpp
  metrics/metrics_reference_test.cpp
  metrics/metrics_property_test.cpp
  metrics/torchscript_features_test.cpp
  metrics/classifier_test.cpp
  metrics/evaluation_test.cpp
  metrics/eval_cli_test.cpp
  metrics/hostile_eval_test.cpp
  metrics/read_attention_test.cpp
  metrics/spearman_test.cpp
  metrics/per_patch_loss_test.cpp
  metrics/attention_cli_test.cpp
)
list(APPEND ELIT_SLOW_TEST_SOURCES
  metrics/default_classifier_slow_test.cpp
)
