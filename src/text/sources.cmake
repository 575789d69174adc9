list(APPEND ELIT_SOURCES
  src/text/tokenizer.cpp
)
