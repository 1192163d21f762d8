# Strict warnings, after re's list. -Werror when SIPVEIL_WERROR (CI).
set(SV_WARNINGS -Wall -Wextra -Wshadow -Wcast-align -Wpointer-arith -Wstrict-prototypes
    -Wmissing-prototypes -Wold-style-definition -Wformat=2 -Wundef -Wvla
    -Wno-unused-parameter -Wnull-dereference -Wdouble-promotion -Wwrite-strings
    -Wmissing-declarations -Wshadow)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND SV_WARNINGS -Wlogical-op -Wduplicated-cond)
endif()
if(SIPVEIL_WERROR)
  list(APPEND SV_WARNINGS -Werror)
endif()
add_compile_options(${SV_WARNINGS})
