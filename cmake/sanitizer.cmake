# SIPVEIL_SANITIZER=address,undefined builds everything with those sanitizers. UBSan findings
# abort, so a test that trips one fails; ASan brings LeakSanitizer, which fails a test that leaks.
if(SIPVEIL_SANITIZER)
  set(sv_san -fsanitize=${SIPVEIL_SANITIZER} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # A pointer to a returned function's local is a stack-use-after-return, which ASan finds
  # only with fake stack frames: always on with clang (gcc: ASAN_OPTIONS at run time). It
  # found the privacy service's dialog rules read through such a pointer.
  if("${SIPVEIL_SANITIZER}" MATCHES "address" AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    list(APPEND sv_san -fsanitize-address-use-after-return=always)
  endif()
  add_compile_options(${sv_san})
  add_link_options(${sv_san})
endif()
if(SIPVEIL_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SIPVEIL_FUZZ needs clang (libFuzzer)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
