list(APPEND ELIT_SOURCES
  src/flow/rectified_flow.cpp
)
