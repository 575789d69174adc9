list(APPEND ELIT_SOURCES
  src/data/fashion_mnist.cpp
)
