# @file bench/register_smoke.cmake  ctest bench/register/smoke: bench/register runs one short
# SHA-256 run on sipveil alone (its load from bench_reg_uac), exits 0, and every registration
# succeeded. Speed is not judged here. Usage: cmake -DREGISTER=... -DSIPVEIL=... -DREG_UAC=... -P
foreach(v REGISTER SIPVEIL REG_UAC)
  if(NOT ${v})
    message(FATAL_ERROR "register_smoke.cmake: pass -D${v}=<path>")
  endif()
endforeach()
execute_process(COMMAND ${REGISTER} --sipveil ${SIPVEIL} --reg-uac ${REG_UAC}
                        --registrar sipveil --digest sha256 --runs 1 --calls 300
                        --warmup 0 --tail 1 --quiet-wait 0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench/register exited with ${rc}")
endif()
foreach(row "their load comes from bench_reg_uac"
            "bench_reg_uac turns every [0-9.]+ ms \\(--tick\\)"
            "run 1 sipveil SHA-256 +300 ok, 0 failed"
            "\n  sipveil SHA-256 +3 +300 +0 ")
  if(NOT out MATCHES "${row}")
    message(FATAL_ERROR "bench/register's output lacks the line matching '${row}'")
  endif()
endforeach()
