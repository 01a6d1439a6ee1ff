# libFuzzer target for status events and the status store (gateway/status);
# included from fuzz/CMakeLists.txt. Seeds (invented) in corpus/status_event.
#   build/fuzz/fuzz_status_event -max_total_time=300 <copy of corpus/status_event>
lmcgw_fuzzer(status_event)
