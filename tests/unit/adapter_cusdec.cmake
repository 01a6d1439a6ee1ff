# CUSDEC/CUSRES adapter and EDIFACT syntax tests; goldens in tests/golden/cusdec.
lmcgw_unit(adapter_cusdec)
target_compile_definitions(test_adapter_cusdec PRIVATE LMCGW_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
