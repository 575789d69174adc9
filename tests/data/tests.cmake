list(APPEND ELIT_FAST_TEST_SOURCES
  data/fashion_mnist_test.cpp
  data/datasets_test.cpp
  data/loader_test.cpp
  io/image_test.cpp
  data/latent_encoding_test.cpp
)
