list(APPEND ELIT_SOURCES
  src/train/adamw.cpp
  src/train/checkpoint.cpp
  src/train/ema.cpp
  src/train/grad_clip.cpp
  src/train/gradient_reducer.cpp
  src/train/lr_schedule.cpp
  src/train/mixed_precision.cpp
  src/train/preview.cpp
  src/train/process_group_communicator.cpp
  src/train/train_config.cpp
  src/train/train_step.cpp
  src/train/trainer.cpp
  src/train/trainer_state.cpp
  src/train/vae_training.cpp
)
