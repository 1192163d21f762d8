# @file tests/integration/privacy/li.cmake  privacy/li: lawful interception through a running
# edge (records, an unwritable sink, kill -9 in the middle of a load). Included by this
# directory's CMakeLists.txt.
add_test(NAME privacy/li
         COMMAND ${Python3_EXECUTABLE} -B ${CMAKE_CURRENT_SOURCE_DIR}/li.py
                 --sipveil $<TARGET_FILE:sipveil> --data ${CMAKE_CURRENT_SOURCE_DIR}
                 --corpus ${PROJECT_SOURCE_DIR}/tests/data/rfc4475)
set_tests_properties(privacy/li PROPERTIES LABELS integration TIMEOUT 90
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
