# elit_serve: the HTTP server around the engine (cpp-httplib, Debian libcpp-httplib-dev, is a
# compiled library, so it stays out of the core) and the web page compiled into it.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(ELIT_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
if(NOT ELIT_HTTPLIB_FOUND)
  message(STATUS "cpp-httplib not found (Debian: libcpp-httplib-dev): no `elit serve`")
  return()
endif()
set(ELIT_WEB_PAGE_SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/src/serve/web/index.html)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ELIT_WEB_PAGE_SOURCE})
file(READ ${ELIT_WEB_PAGE_SOURCE} ELIT_WEB_PAGE)
configure_file(src/serve/web/web_page.cpp.in ${CMAKE_BINARY_DIR}/generated/web_page.cpp @ONLY)
add_library(elit_serve STATIC src/serve/http_server.cpp src/serve/load_generator.cpp
  ${CMAKE_BINARY_DIR}/generated/web_page.cpp)
target_link_libraries(elit_serve PUBLIC elit PRIVATE PkgConfig::ELIT_HTTPLIB elit_header_deps)
