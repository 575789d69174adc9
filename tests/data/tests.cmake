list(APPEND ELIT_FAST_TEST_SOURCES
  data/fashion_mnist_test.cpp
  io/image_test.cpp
)
