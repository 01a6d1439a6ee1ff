lmcgw_unit(adapter_asycuda)
# The test reads the project's XSD, examples and golden files from the tree.
target_compile_definitions(test_adapter_asycuda PRIVATE LMCGW_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
