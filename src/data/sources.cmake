list(APPEND ELIT_SOURCES
  src/data/fashion_mnist.cpp
  src/data/idx_file.cpp
  src/data/dataset.cpp
  src/data/image_folder.cpp
  src/data/latent_shards.cpp
  src/data/loader.cpp
  src/data/image_files.cpp
  src/data/latent_encoding.cpp
)
