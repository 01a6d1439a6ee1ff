# The pipeline's quick look for perishable goods (pipeline/process.c).
lmcgw_unit(process)
target_compile_definitions(test_process PRIVATE LMCGW_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
