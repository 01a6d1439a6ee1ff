# libFuzzer target for the delivery endpoint URL parser; included from
# fuzz/CMakeLists.txt. Seeds in corpus/delivery_url (first byte: allow http).
#   build/fuzz/fuzz_delivery_url -max_total_time=120 <copy of corpus/delivery_url>
lmcgw_fuzzer(delivery_url)
