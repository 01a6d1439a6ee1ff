/* Message and event ids: UUID version 7 (RFC 9562), time-ordered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The 48-bit millisecond prefix: the first 12 hex digits without the dash. */
static uint64_t id_ms(const char *id) {
  char hex[13];
  memcpy(hex, id, 8);
  memcpy(hex + 8, id + 9, 4);
  hex[12] = 0;
  return strtoull(hex, NULL, 16);
}

static void uuid7_has_the_layout_of_rfc_9562(void **state) {
  (void)state;
  char id[37];
  uint64_t t0 = now_ms();
  gw_uuid7(id);
  uint64_t t1 = now_ms();
  assert_int_equal(strlen(id), 36);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) assert_int_equal(id[i], '-');
    else assert_non_null(strchr("0123456789abcdef", id[i]));
  }
  assert_int_equal(id[14], '7');                /* version */
  assert_non_null(strchr("89ab", id[19]));      /* variant 10xx */
  assert_in_range(id_ms(id), t0, t1);
}

static int cmp(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static void uuid7_ids_differ_and_sort_by_time(void **state) {
  (void)state;
  enum { N = 4000 };
  char(*ids)[37] = calloc(N, sizeof(*ids));
  assert_non_null(ids);
  for (int i = 0; i < N; i++) gw_uuid7(ids[i]);
  /* Made one after the other: their time prefixes never go back. */
  for (int i = 1; i < N; i++) assert_true(id_ms(ids[i]) >= id_ms(ids[i - 1]));
  qsort(ids, N, sizeof(*ids), cmp);
  for (int i = 1; i < N; i++) assert_true(strcmp(ids[i - 1], ids[i]) < 0);
  free(ids);
}

static void rfc3339_has_milliseconds_and_z(void **state) {
  (void)state;
  char t[64];
  gw_now_rfc3339(t);
  assert_int_equal(strlen(t), 24);
  int y, mo, d, h, mi, s, ms;
  char z;
  assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
  assert_int_equal(z, 'Z');
  assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uuid7_has_the_layout_of_rfc_9562),
      cmocka_unit_test(uuid7_ids_differ_and_sort_by_time),
      cmocka_unit_test(rfc3339_has_milliseconds_and_z),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
