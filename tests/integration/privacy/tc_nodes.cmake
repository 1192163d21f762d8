# @file tests/integration/privacy/tc_nodes.cmake  privacy/tc_nodes: TC-01, 02, 03, 05, 20, 21
# and 22 end to end through a P-CSCF, an S-CSCF and an edge. Included by CMakeLists.txt.
add_test(NAME privacy/tc_nodes
         COMMAND ${Python3_EXECUTABLE} -B ${CMAKE_CURRENT_SOURCE_DIR}/tc_nodes.py
                 --sipveil $<TARGET_FILE:sipveil> --data ${CMAKE_CURRENT_SOURCE_DIR}
                 --corpus ${PROJECT_SOURCE_DIR}/tests/data/rfc4475)
set_tests_properties(privacy/tc_nodes PROPERTIES LABELS integration TIMEOUT 60
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
