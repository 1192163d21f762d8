# SIPVEIL_SANITIZER=address,undefined builds everything with those sanitizers. UBSan findings
# abort, so a test that trips one fails; ASan brings LeakSanitizer, which fails a test that leaks.
if(SIPVEIL_SANITIZER)
  set(sv_san -fsanitize=${SIPVEIL_SANITIZER} -fno-omit-frame-pointer -fno-sanitize-recover=all)
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
