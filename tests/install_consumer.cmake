# Installs rotary into a fresh prefix, builds examples/consumer against it with
# find_package(rotary CONFIG REQUIRED), runs it, and checks rotary.pc with pkg-config.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
foreach(f include/rotary/policy.hpp bin/rotary)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install did not put ${f} in the prefix")
  endif()
endforeach()
file(GLOB config ${prefix}/lib*/cmake/rotary/rotaryConfig.cmake)
file(GLOB version ${prefix}/lib*/cmake/rotary/rotaryConfigVersion.cmake)
if(NOT config OR NOT version)
  message(FATAL_ERROR "install did not put rotaryConfig.cmake and rotaryConfigVersion.cmake")
endif()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${WORK_DIR}/build/consumer)
if(NOT last_output MATCHES "usable until 2027-01-01T01:00:00Z")
  message(FATAL_ERROR "consumer printed an unexpected answer:\n${last_output}")
endif()

# The pkg-config file names the headers' directory.
set(ENV{PKG_CONFIG_PATH} ${prefix}/share/pkgconfig)
run(pkg-config --cflags rotary)
if(NOT last_output MATCHES "-I${prefix}/share/pkgconfig/../../include")
  message(FATAL_ERROR "rotary.pc gives unexpected flags: ${last_output}")
endif()
message(STATUS "consumer built and ran against ${prefix}")
