# examples/fetchcontent: FetchContent of a tarball of this checkout (what a release would be).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${WORK_DIR}/rotary.tar.gz --format=gnutar
                  CMakeLists.txt cmake include
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "could not make the tarball")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/fetchcontent -B ${WORK_DIR}/build -DCMAKE_CXX_COMPILER=${CXX}
    -DROTARY_URL=file://${WORK_DIR}/rotary.tar.gz -DFETCHCONTENT_QUIET=ON)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/fetched)
expect_output("^2027-03-14T07:00:00Z\n2027-03-15T06:30:00Z\n$")
message(STATUS "FetchContent consumer built and ran")
