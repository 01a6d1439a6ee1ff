# libFuzzer target for the EDIFACT parser and the CUSDEC/CUSRES adapter;
# included from fuzz/CMakeLists.txt. Seeds (invented) in corpus/edifact.
#   build/fuzz/fuzz_edifact -max_total_time=300 -dict=... <copy of corpus/edifact>
lmcgw_fuzzer(edifact)
