list(APPEND ELIT_FAST_TEST_SOURCES
  io/safetensors_test.cpp
  io/published_checkpoint_test.cpp
  io/zip_pickle_test.cpp
  io/context_file_test.cpp
  io/checkpoint_path_test.cpp
  io/svg_plot_test.cpp
  io/labelled_grid_test.cpp
  io/heat_map_test.cpp
  io/npz_test.cpp
  io/npz_stream_test.cpp
  io/vae_file_test.cpp
  io/hostile_files_test.cpp
  io/fuzz_seeds_test.cpp
)
