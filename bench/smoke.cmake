# @file bench/smoke.cmake  ctest bench/parse/smoke: bench_parse runs briefly, exits 0, and
# prints all four rows and both ratios. Speed is not judged here. Usage: cmake -DEXE=... -P
if(NOT EXE)
  message(FATAL_ERROR "smoke.cmake: pass -DEXE=<path of bench_parse>")
endif()
execute_process(COMMAND ${EXE} --seconds 0.05
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench_parse exited with ${rc}")
endif()
foreach(row "\na  sipveil parse " "\nb  sipveil parse\\+edit\\+serialize "
            "\nc  libosip2 parse " "\nd  libosip2 parse\\+edit\\+serialize "
            "\nratio sipveil/osip, parse: +[0-9.]+x"
            "\nratio sipveil/osip, parse\\+edit\\+serialize: +[0-9.]+x")
  if(NOT out MATCHES "${row}")
    message(FATAL_ERROR "bench_parse output lacks the line matching '${row}'")
  endif()
endforeach()
