# @file tests/integration/privacy/oir.cmake  privacy/oir: identity blocking on the
# subscriber's behalf at an S-CSCF (R46, R51). Included by this directory's CMakeLists.txt.
add_test(NAME privacy/oir
         COMMAND ${Python3_EXECUTABLE} -B ${CMAKE_CURRENT_SOURCE_DIR}/oir.py
                 --sipveil $<TARGET_FILE:sipveil> --data ${CMAKE_CURRENT_SOURCE_DIR}
                 --corpus ${PROJECT_SOURCE_DIR}/tests/data/rfc4475)
set_tests_properties(privacy/oir PROPERTIES LABELS integration TIMEOUT 60
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
