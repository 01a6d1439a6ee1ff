# Property-based round trips between every pair of built-in formats.
lmcgw_unit(roundtrip ${CMAKE_CURRENT_SOURCE_DIR}/support/gen.c)
