list(APPEND ELIT_FAST_TEST_SOURCES
  train/budget_draw_test.cpp
  train/checkpoint_test.cpp
  train/gradient_reducer_test.cpp
  train/mixed_precision_test.cpp
  train/optimizer_test.cpp
  train/train_config_test.cpp
  train/train_step_test.cpp
)
list(APPEND ELIT_SLOW_TEST_SOURCES
  train/trainer_test.cpp
  train/cli_train_test.cpp
  train/vae_training_test.cpp
)
