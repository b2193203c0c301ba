# find_package(ArdoiseSDK) for plugins built outside the Ardoise tree.
#
# Defines:
#   ArdoiseSDK::sdk       the SDK headers (include/ardoise/*.hpp) and nlohmann_json
#   ArdoiseSDK::testing   the fakes for a plugin's unit tests (ardoise/fake_plugin_context.hpp)
#   ardoise_add_plugin(<name> SOURCES <files...> [OUTPUT_DIR <dir>])
# Installed as <prefix>/lib/cmake/ArdoiseSDK/.

include(CMakeFindDependencyMacro)
find_dependency(nlohmann_json 3.10)

get_filename_component(_ardoise_sdk_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET ArdoiseSDK::sdk)
  add_library(ArdoiseSDK::sdk INTERFACE IMPORTED)
  set_target_properties(ArdoiseSDK::sdk PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_ardoise_sdk_prefix}/include"
    INTERFACE_LINK_LIBRARIES nlohmann_json::nlohmann_json
    INTERFACE_COMPILE_FEATURES cxx_std_20)
endif()
if(NOT TARGET ArdoiseSDK::testing)
  add_library(ArdoiseSDK::testing INTERFACE IMPORTED)
  set_target_properties(ArdoiseSDK::testing PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_ardoise_sdk_prefix}/include/ardoise_testing"
    INTERFACE_LINK_LIBRARIES ArdoiseSDK::sdk)
endif()
unset(_ardoise_sdk_prefix)

include("${CMAKE_CURRENT_LIST_DIR}/ArdoisePlugin.cmake")
