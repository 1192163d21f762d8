# @file tests/integration/privacy/leak.cmake  privacy/leak: the leak property test (issue 4 §5).
# Random flows (roles, trust, priv-values, methods, who hangs up) through nine privacy nodes
# of one `sipveil run` (workers: 2); no identity of a party that asked for `id` or `user` may
# reach an untrusted endpoint (R19, R20, R33-R43, R49, R63-R66, R74-R79). A fresh seed each
# run, printed; `leak.py --seed S --flows N` replays a run, `--only N` one flow of it.
# privacy/leak: 3000 flows (~10 s). privacy/leak_slow (label slow): 30000 flows (~1 min).
# Included by this directory's CMakeLists.txt.
find_package(Python3 3.8 REQUIRED COMPONENTS Interpreter)

add_test(NAME privacy/leak
         COMMAND ${Python3_EXECUTABLE} -B ${CMAKE_CURRENT_SOURCE_DIR}/leak.py
                 --sipveil $<TARGET_FILE:sipveil> --flows 3000)
set_tests_properties(privacy/leak PROPERTIES LABELS integration TIMEOUT 120
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")

add_test(NAME privacy/leak_slow
         COMMAND ${Python3_EXECUTABLE} -B ${CMAKE_CURRENT_SOURCE_DIR}/leak.py
                 --sipveil $<TARGET_FILE:sipveil> --flows 30000)
set_tests_properties(privacy/leak_slow PROPERTIES LABELS "integration;slow" TIMEOUT 900
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
