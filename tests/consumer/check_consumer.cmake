# Installs the built elit into a scratch prefix, then configures, builds and runs the consumer
# project (tests/consumer) against it, as another project would: cmake -P with
#   -DELIT_BUILD_DIR=<elit build> -DCONSUMER_SOURCE_DIR=<tests/consumer> -DTorch_DIR=<...>
foreach(var ELIT_BUILD_DIR CONSUMER_SOURCE_DIR Torch_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_consumer.cmake needs -D${var}=...")
  endif()
endforeach()
set(work "${ELIT_BUILD_DIR}/consumer-test")
file(REMOVE_RECURSE "${work}")

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer project: ${what} failed (exit ${rc})\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("install" ${CMAKE_COMMAND} --install "${ELIT_BUILD_DIR}" --prefix "${work}/prefix")
set(launcher "")
find_program(ccache_program ccache)
if(ccache_program)
  set(launcher "-DCMAKE_CXX_COMPILER_LAUNCHER=${ccache_program}")
endif()
run_step("configure" ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${work}/build"
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${work}/prefix" "-DTorch_DIR=${Torch_DIR}"
  ${launcher})
run_step("build" ${CMAKE_COMMAND} --build "${work}/build")
run_step("run" "${work}/build/elit_consumer")
if(NOT step_output MATCHES "elit consumer ok")
  message(FATAL_ERROR "consumer project ran but printed: ${step_output}")
endif()
message(STATUS "consumer project built against the installed package and ran: ${step_output}")
