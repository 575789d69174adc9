# Distributed training on c10d. The Gloo process group needs the Gloo headers (Debian: libgloo-dev;
# a pip/CUDA libtorch ships them); without them the launcher still builds and create() says why.
list(APPEND ELIT_SOURCES
  src/dist/environment.cpp
  src/dist/launcher.cpp
)
if(ELIT_HAVE_GLOO)
  list(APPEND ELIT_SOURCES src/dist/process_group.cpp)
else()
  list(APPEND ELIT_SOURCES src/dist/process_group_unavailable.cpp)
endif()
