# Turns the OpenCL C sources into one C++ header, so the plugin carries its
# kernels and reads nothing at run time in JIT mode.
#   cmake -DOUTPUT=kernel_sources.hpp -DSOURCES="a.cl;b.cl" -P embed_cl.cmake
set(entries "")
foreach(src IN LISTS SOURCES)
  get_filename_component(name "${src}" NAME_WE)
  file(READ "${src}" text)
  if(text MATCHES "\\)hxrtcl\"")
    message(FATAL_ERROR "${src} contains the raw-string delimiter )hxrtcl\"")
  endif()
  string(APPEND entries "    {\"${name}\", R\"hxrtcl(${text})hxrtcl\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from plugins/opencl/kernels/*.cl; do not edit.
#pragma once
namespace hxrt::ocl {
struct EmbeddedProgram {
  const char* name;
  const char* source;
};
inline constexpr EmbeddedProgram kEmbeddedPrograms[] = {
${entries}};
}  // namespace hxrt::ocl
")
# Rewrite only on change so dependants do not rebuild needlessly.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
