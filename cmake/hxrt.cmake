# Shared build settings for hxrt's own targets.

# Warnings are errors in our code (not in third-party headers, which come in as SYSTEM).
function(hxrt_set_warnings target)
  get_target_property(_langs ${target} LINKER_LANGUAGE)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow=local -Wnon-virtual-dtor>
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wstrict-prototypes>
    $<$<BOOL:${HXRT_WARNINGS_AS_ERRORS}>:-Werror>)
endfunction()

# A device plugin: a MODULE library exporting only the entry symbol.
function(hxrt_add_plugin target)
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${HXRT_PLUGIN_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--no-undefined
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin_exports.map)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/plugin_exports.map)
  hxrt_set_warnings(${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${HXRT_PLUGIN_INSTALL_DIR})
endfunction()

# A GoogleTest executable registered with CTest.
function(hxrt_add_gtest target)
  add_executable(${target} ${ARGN})
  target_link_libraries(${target} PRIVATE GTest::gtest GTest::gtest_main)
  hxrt_set_warnings(${target})
  # Defaults compiled in; HXRT_PLUGIN_DIR / HXRT_SHARED_DATA in the environment override them.
  target_compile_definitions(${target} PRIVATE
    HXRT_TEST_PLUGIN_DIR="${HXRT_PLUGIN_OUTPUT_DIR}" HXRT_TEST_SHARED_DATA="${HXRT_SHARED_DATA}"
    HXRT_TEST_SAMPLE_PLUGIN_DIR="${HXRT_SAMPLE_PLUGIN_OUTPUT_DIR}")
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 1200)
endfunction()
