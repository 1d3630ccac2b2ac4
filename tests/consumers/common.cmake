# Shared by the consumer tests (tests/consumers/*.cmake, run with cmake -P): run a command and
# fail with its output, expect a command to fail with a message, install rotary into a prefix.
#
# Inputs every test passes: SOURCE_DIR (the repository), BINARY_DIR (rotary's build), WORK_DIR
# (a scratch directory, emptied first), CXX (the compiler rotary was built with).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# run(<command>...): fails the test unless the command exits 0; its stdout is in last_output.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# run_fails(<message> <command>...): fails the test unless the command fails and its output
# contains <message>.
function(run_fails expected)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " cmd "${ARGN}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "expected a failure, got success: ${cmd}\n${out}\n${err}")
  endif()
  # CMake wraps long messages: compare with all whitespace runs made one space.
  string(REGEX REPLACE "[ \t\r\n]+" " " all "${out} ${err}")
  string(REGEX REPLACE "[ \t\r\n]+" " " want "${expected}")
  string(FIND "${all}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${cmd} failed (${rc}) without the expected message:\n  ${expected}\n${out}\n${err}")
  endif()
endfunction()

# expect_output(<regex>): the last run's stdout matches.
macro(expect_output regex)
  if(NOT last_output MATCHES "${regex}")
    message(FATAL_ERROR "unexpected output (wanted ${regex}):\n${last_output}")
  endif()
endmacro()

# A directory of headers named like OpenSSL's and cpp-httplib's that stop any compile including
# them: put first on the include path, it proves the core headers never include them.
function(make_poisoned_include_dir dir)
  foreach(h httplib.h openssl/ssl.h openssl/evp.h openssl/crypto.h openssl/hmac.h openssl/rand.h)
    file(WRITE ${dir}/${h} "#error \"a core header included ${h}\"\n")
  endforeach()
endfunction()
