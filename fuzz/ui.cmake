# libFuzzer target for the inspector page's path resolution (gateway/ui);
# included from fuzz/CMakeLists.txt. Seeds: plain and hostile paths in corpus/ui.
#   build/fuzz/fuzz_ui -max_total_time=120 <copy of corpus/ui>
lmcgw_fuzzer(ui)
