# Deployment files (docker/, deploy/systemd/), checked without a container engine
# or a running systemd: tests/deploy/check.sh says what each test checks. A tool
# missing on the machine (docker-compose, systemd-analyze) skips its test.
foreach(t compose dockerfile systemd)
  add_test(NAME deploy.${t} COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check.sh ${t} $<TARGET_FILE:lmcgw>)
  set_tests_properties(deploy.${t} PROPERTIES LABELS "unit;deploy" TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
