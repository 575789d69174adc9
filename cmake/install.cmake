# Installs libelit, its headers and a CMake package so another project can find_package(elit).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS elit EXPORT elitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/elit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT elitTargets NAMESPACE elit:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elit)
configure_package_config_file(cmake/elitConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/elitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elit)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/elitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/elitConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/elitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elit)
