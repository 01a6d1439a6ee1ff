# libFuzzer target for signature verification (gateway/trust); included from
# fuzz/CMakeLists.txt. Seeds: two small documents signed by leaves of the
# test anchor built into fuzz_verify.c.
#   build/fuzz/fuzz_verify -max_total_time=300 <copy of corpus/verify>
lmcgw_fuzzer(verify)
