/* Metrics: Prometheus text with cumulative histogram buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

static void renders_counters_and_cumulative_buckets(void **state) {
  (void)state;
  gw_metrics_stage(GW_STAGE_PARSE, 80 * 1000);       /* 80 µs */
  gw_metrics_stage(GW_STAGE_PARSE, 3 * 1000 * 1000); /* 3 ms */
  gw_metrics_stage(GW_STAGE_PARSE, 20ULL * 1000 * 1000 * 1000); /* 20 s: only +Inf */
  gw_metrics_outcome(GW_OUT_ACCEPTED);
  gw_metrics_outcome(GW_OUT_ACCEPTED);
  gw_metrics_outcome(GW_OUT_INVALID);
  gw_metrics_queue_depth_add(3);
  gw_metrics_queue_depth_add(-1);
  uint64_t by_status[600] = {0};
  by_status[202] = 2;
  by_status[422] = 1;
  gw_metrics_extra x = {by_status, 5, 7, 1};
  size_t len;
  char *s = gw_metrics_render(&x, &len);
  assert_non_null(s);
  assert_int_equal(strlen(s), len);
  assert_non_null(strstr(s, "lmcgw_http_responses_total{code=\"202\"} 2\n"));
  assert_non_null(strstr(s, "lmcgw_http_responses_total{code=\"422\"} 1\n"));
  assert_null(strstr(s, "code=\"500\""));
  assert_non_null(strstr(s, "lmcgw_messages_total{outcome=\"accepted\"} 2\n"));
  assert_non_null(strstr(s, "lmcgw_messages_total{outcome=\"invalid\"} 1\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_bucket{stage=\"parse\",le=\"5e-05\"} 0\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_bucket{stage=\"parse\",le=\"0.0001\"} 1\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_bucket{stage=\"parse\",le=\"0.005\"} 2\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_bucket{stage=\"parse\",le=\"10\"} 2\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 3\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_count{stage=\"parse\"} 3\n"));
  assert_non_null(strstr(s, "lmcgw_stage_duration_seconds_sum{stage=\"parse\"} 20.003080000\n"));
  assert_non_null(strstr(s, "lmcgw_work_queue_depth 2\n"));
  assert_non_null(strstr(s, "lmcgw_kafka_messages_in_flight 7\n"));
  assert_non_null(strstr(s, "lmcgw_http_connections 5\n"));
  assert_non_null(strstr(s, "# TYPE lmcgw_stage_duration_seconds histogram\n"));
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(renders_counters_and_cumulative_buckets)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
