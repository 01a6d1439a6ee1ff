lmcgw_unit(adapter_wco-dec)
# The test reads the project's XSDs, examples and golden files from the tree.
target_compile_definitions(test_adapter_wco-dec PRIVATE LMCGW_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
