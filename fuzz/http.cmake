# libFuzzer target for the HTTP request path (gateway/http), included from
# fuzz/CMakeLists.txt. With the project's lmcgw_fuzzer() it gets the shared
# flags and a short ctest run over corpus/http; included elsewhere (a scratch
# build) it stands alone with its own sanitizers.
#   build/fuzz/fuzz_http -max_total_time=120 -max_len=8192 <copy of corpus/http>
if(COMMAND lmcgw_fuzzer)
  lmcgw_fuzzer(http)
else()
  add_executable(fuzz_http ${CMAKE_CURRENT_LIST_DIR}/fuzz_http.c)
  target_compile_options(fuzz_http PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -g)
  target_link_options(fuzz_http PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_http PRIVATE lmcgw_core)
endif()
