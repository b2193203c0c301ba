# ardoise_add_plugin(<name> SOURCES <files...> [OUTPUT_DIR <dir>])
#
# Builds a plugin as a shared library lib<name>.so in <dir>/<name>/ (default:
# ${CMAKE_BINARY_DIR}/plugins), next to a copy of its manifest.json,
# migrations/ and templates/, which is the folder layout the host discovers. The plugin
# sees only the SDK headers.
function(ardoise_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ardoise_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
  endif()
  set(out "${ARG_OUTPUT_DIR}/${name}")
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ArdoiseSDK::sdk)
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib" SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${out}")
  # Copied at configure time: CMake re-runs when they change.
  configure_file("${CMAKE_CURRENT_SOURCE_DIR}/manifest.json" "${out}/manifest.json" COPYONLY)
  file(GLOB_RECURSE data CONFIGURE_DEPENDS RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}"
       "${CMAKE_CURRENT_SOURCE_DIR}/migrations/*.sql" "${CMAKE_CURRENT_SOURCE_DIR}/templates/*.mustache")
  foreach(file ${data})
    configure_file("${CMAKE_CURRENT_SOURCE_DIR}/${file}" "${out}/${file}" COPYONLY)
  endforeach()
endfunction()
