list(APPEND ELIT_SOURCES
  src/io/safetensors.cpp
  src/io/state_dict.cpp
  src/io/zip_reader.cpp
  src/io/pickle.cpp
  src/io/published_checkpoint.cpp
  src/io/model_file.cpp
  src/io/image.cpp
  src/io/labelled_grid.cpp
  src/io/heat_map.cpp
  src/io/npz_writer.cpp
  src/io/context_file.cpp
  src/io/checkpoint_path.cpp
  src/io/svg_plot.cpp
  src/io/npz_reader.cpp
  src/io/vae_keys.cpp
  src/io/vae_file.cpp
)
