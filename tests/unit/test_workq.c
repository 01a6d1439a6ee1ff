/* The work queue's order: perishable first, large messages never on every
 * worker, first come first served within a class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve/workq.h"

static gw_workq_item item(int perishable, int large) {
  return (gw_workq_item){NULL, (unsigned char)perishable, (unsigned char)large, 0};
}

static void starts_at_once_while_a_worker_is_free(void **state) {
  (void)state;
  gw_workq q;
  gw_workq_init(&q, 2);
  gw_workq_item a = item(0, 0), b = item(0, 0), c = item(0, 0);
  assert_int_equal(gw_workq_offer(&q, &a), 1);
  assert_int_equal(gw_workq_offer(&q, &b), 1);
  assert_int_equal(gw_workq_offer(&q, &c), 0);
  assert_int_equal(q.running, 2);
  assert_int_equal(q.waiting, 1);
  assert_null(gw_workq_next(&q)); /* no worker free */
  gw_workq_done(&q, &a);
  assert_ptr_equal(gw_workq_next(&q), &c);
  assert_int_equal(q.waiting, 0);
}

static void perishable_goes_first_then_arrival_order(void **state) {
  (void)state;
  gw_workq q;
  gw_workq_init(&q, 1);
  gw_workq_item busy = item(0, 0), bulk1 = item(0, 0), bulk2 = item(0, 0), fruit1 = item(1, 0), fruit2 = item(1, 0);
  assert_int_equal(gw_workq_offer(&q, &busy), 1);
  gw_workq_offer(&q, &bulk1);
  gw_workq_offer(&q, &fruit1);
  gw_workq_offer(&q, &bulk2);
  gw_workq_offer(&q, &fruit2);
  assert_int_equal(q.waiting, 4);
  assert_int_equal(q.waiting_perishable, 2);
  gw_workq_item *order[] = {&fruit1, &fruit2, &bulk1, &bulk2};
  gw_workq_item *prev = &busy;
  for (int i = 0; i < 4; i++) {
    gw_workq_done(&q, prev);
    prev = gw_workq_next(&q);
    assert_ptr_equal(prev, order[i]);
    assert_int_equal(q.waiting_perishable, i < 2 ? (size_t)(1 - i) : 0);
  }
}

static void large_messages_leave_a_worker_to_small_ones(void **state) {
  (void)state;
  gw_workq q;
  gw_workq_init(&q, 2);
  gw_workq_item big1 = item(0, 1), big2 = item(0, 1), big3 = item(1, 1), small = item(0, 0);
  assert_int_equal(gw_workq_offer(&q, &big1), 1);
  /* One worker is free, but it is the last one: not for a large message,
   * perishable or not. */
  assert_int_equal(gw_workq_offer(&q, &big2), 0);
  assert_int_equal(gw_workq_offer(&q, &big3), 0);
  assert_null(gw_workq_next(&q));
  assert_int_equal(gw_workq_offer(&q, &small), 1);
  assert_int_equal(q.running, 2);
  /* The large one done: the waiting perishable large one goes next. */
  gw_workq_done(&q, &big1);
  assert_ptr_equal(gw_workq_next(&q), &big3);
  assert_null(gw_workq_next(&q));
  gw_workq_done(&q, &big3);
  assert_ptr_equal(gw_workq_next(&q), &big2);
  assert_int_equal(q.running_large, 1);
}

static void large_messages_are_not_starved(void **state) {
  (void)state;
  gw_workq q;
  gw_workq_init(&q, 2);
  /* Both workers busy with small ones, a large one waiting, then a steady
   * stream of small ones of the same priority: the large one goes at the next
   * free worker, before the small ones that came after it. */
  gw_workq_item s[8], big = item(1, 1);
  for (int i = 0; i < 8; i++) s[i] = item(1, 0);
  gw_workq_offer(&q, &s[0]);
  gw_workq_offer(&q, &s[1]);
  assert_int_equal(gw_workq_offer(&q, &big), 0);
  for (int i = 2; i < 8; i++) assert_int_equal(gw_workq_offer(&q, &s[i]), 0);
  gw_workq_done(&q, &s[0]);
  assert_ptr_equal(gw_workq_next(&q), &big);
  gw_workq_done(&q, &s[1]);
  assert_ptr_equal(gw_workq_next(&q), &s[2]);
  assert_int_equal(q.waiting, 5);
}

static void one_worker_still_runs_large_messages(void **state) {
  (void)state;
  gw_workq q;
  gw_workq_init(&q, 1);
  gw_workq_item big = item(0, 1);
  assert_int_equal(gw_workq_offer(&q, &big), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(starts_at_once_while_a_worker_is_free),
      cmocka_unit_test(perishable_goes_first_then_arrival_order),
      cmocka_unit_test(large_messages_leave_a_worker_to_small_ones),
      cmocka_unit_test(large_messages_are_not_starved),
      cmocka_unit_test(one_worker_still_runs_large_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
