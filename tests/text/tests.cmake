list(APPEND ELIT_FAST_TEST_SOURCES
  text/tokenizer_test.cpp
)
