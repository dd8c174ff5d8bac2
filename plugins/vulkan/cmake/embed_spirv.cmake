# Turns one SPIR-V file into a C++ header holding it as a uint32_t array, so
# the plugin carries its shaders and looks nothing up at run time.
#   cmake -DINPUT=x.spv -DOUTPUT=x.spv.h -DNAME=kSpv_x -P embed_spirv.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR remainder "${hex_length} % 8")
if(NOT remainder EQUAL 0 OR hex_length EQUAL 0)
  message(FATAL_ERROR "${INPUT} is not a whole number of 32-bit SPIR-V words")
endif()
# SPIR-V words are little-endian: bytes b0 b1 b2 b3 become 0xb3b2b1b0.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "((0x........u,){8})" "\\1\n" words "${words}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.\n#pragma once\n#include <cstdint>\ninline constexpr uint32_t ${NAME}[] = {\n${words}\n};\n")
