# hxrt-conformance --profile full on the vulkan plugin with the Khronos
# validation layer enabled; fails on a conformance failure or on any
# validation error the layer prints.
#   cmake -DCONFORMANCE=... -DPLUGIN=... -DNODE_TESTS=... -DCACHE=... -DREPORTS=... -P run_conformance.cmake
set(ENV{VK_INSTANCE_LAYERS} VK_LAYER_KHRONOS_validation)
if(NOT DEFINED ENV{MESA_SHADER_CACHE_DIR})
  set(ENV{MESA_SHADER_CACHE_DIR} ${CACHE}/mesa)
endif()
execute_process(
  COMMAND ${CONFORMANCE} --plugin ${PLUGIN} --profile full --onnx-tests ${NODE_TESTS}
          --junit ${REPORTS}/conformance-vulkan.xml --json ${REPORTS}/conformance-vulkan.json
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
# The totals are the last such line; each group prints its own first.
string(REGEX MATCHALL "[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" counts "${out}")
list(POP_BACK counts summary)
message(STATUS "hxrt-conformance: ${summary}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hxrt-conformance exited with ${rc}:\n${out}\n${err}")
endif()
string(REGEX MATCHALL "Validation Error[^\n]*" errors "${out}\n${err}")
list(LENGTH errors count)
if(count GREATER 0)
  message(FATAL_ERROR "${count} validation error(s):\n${errors}")
endif()
