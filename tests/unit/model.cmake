# Model, forms, registry, plugins and XSLT formats; random consignments from gen.c.
lmcgw_unit(model ${CMAKE_CURRENT_SOURCE_DIR}/support/gen.c)
# The example plugin, and a copy claiming another ABI (must be refused).
add_library(lmcgw-kv-badabi MODULE ${CMAKE_SOURCE_DIR}/adapters/plugin-example/kv_plugin.c)
set_target_properties(lmcgw-kv-badabi PROPERTIES PREFIX "")
target_include_directories(lmcgw-kv-badabi PRIVATE ${CMAKE_SOURCE_DIR}/gateway ${CMAKE_SOURCE_DIR}
  $<TARGET_PROPERTY:PkgConfig::DEPS,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(lmcgw-kv-badabi PRIVATE KV_PLUGIN_ABI=99)
add_dependencies(test_model lmcgw-kv lmcgw-kv-badabi)
set_target_properties(test_model PROPERTIES ENABLE_EXPORTS ON)
target_compile_definitions(test_model PRIVATE LMCGW_KV_PLUGIN="$<TARGET_FILE:lmcgw-kv>"
  LMCGW_KV_BADABI_PLUGIN="$<TARGET_FILE:lmcgw-kv-badabi>")
