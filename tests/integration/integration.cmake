# Integration tests: the real gateway binary, a real Kafka broker (KRaft,
# started and stopped by fixtures), real HTTPS with client certificates.
set(LMCGW_TEST_KAFKA_DIR ${CMAKE_BINARY_DIR}/test-kafka)
set(LMCGW_TEST_PKI_DIR ${CMAKE_BINARY_DIR}/test-pki)

add_test(NAME fixture.pki COMMAND ${CMAKE_SOURCE_DIR}/scripts/test-pki.sh ${LMCGW_TEST_PKI_DIR})
set_tests_properties(fixture.pki PROPERTIES FIXTURES_SETUP pki LABELS fixture)
add_test(NAME fixture.kafka.start COMMAND ${CMAKE_SOURCE_DIR}/scripts/kafka.sh start ${LMCGW_TEST_KAFKA_DIR})
set_tests_properties(fixture.kafka.start PROPERTIES FIXTURES_SETUP kafka LABELS fixture TIMEOUT 600)
add_test(NAME fixture.kafka.stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/kafka.sh stop ${LMCGW_TEST_KAFKA_DIR})
set_tests_properties(fixture.kafka.stop PROPERTIES FIXTURES_CLEANUP kafka LABELS fixture)

add_executable(test_gateway integration/test_gateway.c support/client.c support/proc.c support/endpoint.c)
target_compile_options(test_gateway PRIVATE ${LMCGW_WARN})
target_include_directories(test_gateway PRIVATE support)
target_link_libraries(test_gateway PRIVATE lmcgw_testutil PkgConfig::DEPS pthread)
target_compile_definitions(test_gateway PRIVATE LMCGW_SOURCE_DIR="${CMAKE_SOURCE_DIR}" _DEFAULT_SOURCE)

set(LMCGW_IT_ENV
  LMCGW_BIN=$<TARGET_FILE:lmcgw>
  LMCGW_TEST_PKI=${LMCGW_TEST_PKI_DIR}
  LMCGW_TEST_KAFKA_DIR=${LMCGW_TEST_KAFKA_DIR}
  LMCGW_TEST_KAFKA_SH=${CMAKE_SOURCE_DIR}/scripts/kafka.sh)

foreach(t roundtrip formats access hostile signatures ingest ui exchange failover toolarge shutdown)
  add_test(NAME integration.${t} COMMAND test_gateway ${t})
  set_tests_properties(integration.${t} PROPERTIES FIXTURES_REQUIRED "kafka;pki" ENVIRONMENT "${LMCGW_IT_ENV}"
    LABELS integration TIMEOUT 300)
endforeach()
# The outage test stops and restarts a broker of its own.
add_test(NAME integration.outage COMMAND test_gateway outage)
set_tests_properties(integration.outage PROPERTIES FIXTURES_REQUIRED pki ENVIRONMENT "${LMCGW_IT_ENV}"
  LABELS integration TIMEOUT 600)
add_test(NAME integration.dev COMMAND test_gateway dev)
set_tests_properties(integration.dev PROPERTIES ENVIRONMENT "${LMCGW_IT_ENV}" LABELS integration TIMEOUT 120)
# The native two-country topology of docker/compose.yaml (scripts/topology.sh).
add_test(NAME integration.topology COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/topology.sh)
set_tests_properties(integration.topology PROPERTIES FIXTURES_REQUIRED "kafka;pki" ENVIRONMENT "${LMCGW_IT_ENV}"
  LABELS integration TIMEOUT 300)
# Headless Chromium may be missing on a developer's machine: then the browser checks are skipped.
set_tests_properties(integration.ui PROPERTIES SKIP_RETURN_CODE 77)
