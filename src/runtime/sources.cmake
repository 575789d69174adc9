list(APPEND ELIT_SOURCES
  src/runtime/atomic_file.cpp
  src/runtime/config_schema.cpp
  src/runtime/cpu.cpp
  src/runtime/gzip.cpp
  src/runtime/timing.cpp
)
