# Header-only and optional dependencies of the core library.
# On a machine where nothing can be installed (a GPU box), pass -DELIT_EXTRA_INCLUDE_DIRS=<dir>
# pointing at headers extracted from the Debian packages (dpkg -x), e.g. nlohmann/json.hpp.
set(ELIT_EXTRA_INCLUDE_DIRS "" CACHE STRING "Extra include directories for header-only dependencies")

add_library(elit_header_deps INTERFACE)
find_package(nlohmann_json 3 QUIET)
if(nlohmann_json_FOUND)
  target_link_libraries(elit_header_deps INTERFACE nlohmann_json::nlohmann_json)
else()
  find_path(ELIT_NLOHMANN_DIR nlohmann/json.hpp HINTS ${ELIT_EXTRA_INCLUDE_DIRS} REQUIRED)
  target_include_directories(elit_header_deps INTERFACE ${ELIT_NLOHMANN_DIR})
endif()
find_path(ELIT_STB_DIR stb_image.h HINTS ${ELIT_EXTRA_INCLUDE_DIRS} PATH_SUFFIXES stb)
if(ELIT_STB_DIR)
  target_include_directories(elit_header_deps SYSTEM INTERFACE ${ELIT_STB_DIR})
  set(ELIT_HAVE_STB ON)
endif()

find_package(ZLIB QUIET)
set(ELIT_HAVE_ZLIB ${ZLIB_FOUND})

# Gloo headers come from libgloo-dev on Debian; a pip/CUDA libtorch ships them itself.
find_path(ELIT_GLOO_DIR torch/csrc/distributed/c10d/ProcessGroupGloo.hpp HINTS ${TORCH_INCLUDE_DIRS})
find_path(ELIT_GLOO_HDR gloo/config.h HINTS ${TORCH_INCLUDE_DIRS} ${ELIT_EXTRA_INCLUDE_DIRS})
if(ELIT_GLOO_DIR AND ELIT_GLOO_HDR)
  set(ELIT_HAVE_GLOO ON)
endif()

# NCCL: a CUDA libtorch built with it defines USE_C10D_NCCL for its users, and c10d's header needs
# nccl.h, which pip wheels keep in site-packages/nvidia/nccl/include next to torch/.
find_path(ELIT_NCCL_INCLUDE_DIR nccl.h
  HINTS ${ELIT_EXTRA_INCLUDE_DIRS} ${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include
        ${TORCH_INSTALL_PREFIX}/../nvidia/cu13/include ${TORCH_INCLUDE_DIRS})
if(ELIT_NCCL_INCLUDE_DIR)
  target_include_directories(elit_header_deps SYSTEM INTERFACE ${ELIT_NCCL_INCLUDE_DIR})
endif()
