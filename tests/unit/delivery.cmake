# Delivery worker tests (gateway/delivery): librdkafka's in-process mock
# cluster and a TLS server thread; the test PKI comes from scripts/test-pki.sh.
lmcgw_unit(delivery ${CMAKE_CURRENT_SOURCE_DIR}/support/endpoint.c)
set_tests_properties(unit.delivery PROPERTIES TIMEOUT 600)
