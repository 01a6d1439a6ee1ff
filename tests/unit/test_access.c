/* Roles, the submit policy, the rate limiter and the replay cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"

static gw_identity ident(const char *c, const char *ou) {
  gw_identity id = {0};
  id.authenticated = 1;
  snprintf(id.country, sizeof(id.country), "%s", c);
  snprintf(id.org_unit, sizeof(id.org_unit), "%s", ou);
  snprintf(id.cn, sizeof(id.cn), "test");
  return id;
}

static void roles_from_ou(void **state) {
  (void)state;
  gw_identity c = ident("TH", "customs-system"), t = ident("TH", "Trader"), x = ident("TH", "sales");
  gw_identity anon = {0};
  assert_int_equal(gw_access_role(&c, GW_ROLE_NONE), GW_ROLE_CUSTOMS);
  assert_int_equal(gw_access_role(&t, GW_ROLE_NONE), GW_ROLE_TRADER);
  assert_int_equal(gw_access_role(&x, GW_ROLE_ADMIN), GW_ROLE_NONE); /* anon_role is only for the anonymous */
  assert_int_equal(gw_access_role(&anon, GW_ROLE_TRADER), GW_ROLE_TRADER);
  assert_int_equal(gw_role_parse("inspector"), GW_ROLE_INSPECTOR);
  assert_int_equal(gw_role_parse("chief"), -1);
}

static void submit_policy(void **state) {
  (void)state;
  char why[300];
  gw_consignment th = {0}, kh = {0}, resp_vn = {0}, bare = {0};
  th.export_country = "TH";
  kh.export_country = "KH";
  resp_vn.import_country = "VN";
  gw_identity thc = ident("TH", "customs-system"), vnc = ident("VN", "customs-system");
  gw_identity tr = ident("LA", "trader"), insp = ident("TH", "inspector"), adm = ident("TH", "admin");
  gw_identity none = ident("TH", ""), anon = {0};
  assert_int_equal(gw_access_may_submit(&thc, GW_ROLE_CUSTOMS, "TH", GW_KIND_DECLARATION, &th, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&thc, GW_ROLE_CUSTOMS, "TH", GW_KIND_DECLARATION, &kh, why, sizeof(why)), 403);
  assert_non_null(strstr(why, "comes from KH"));
  assert_int_equal(gw_access_may_submit(&vnc, GW_ROLE_CUSTOMS, "VN", GW_KIND_RESPONSE, &resp_vn, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&thc, GW_ROLE_CUSTOMS, "TH", GW_KIND_RESPONSE, &resp_vn, why, sizeof(why)), 403);
  /* A document naming no country is taken as this gateway's country's. */
  assert_int_equal(gw_access_may_submit(&thc, GW_ROLE_CUSTOMS, "TH", GW_KIND_RESPONSE, &bare, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&vnc, GW_ROLE_CUSTOMS, "TH", GW_KIND_RESPONSE, &bare, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_submit(&tr, GW_ROLE_TRADER, "TH", GW_KIND_DECLARATION, &kh, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&tr, GW_ROLE_TRADER, "TH", GW_KIND_SPS, &kh, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&tr, GW_ROLE_TRADER, "TH", GW_KIND_CO, &kh, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_submit(&tr, GW_ROLE_TRADER, "TH", GW_KIND_RESPONSE, &kh, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_submit(&insp, GW_ROLE_INSPECTOR, "TH", GW_KIND_DECLARATION, &th, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_submit(&adm, GW_ROLE_ADMIN, "TH", GW_KIND_DECLARATION, &th, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_submit(&none, GW_ROLE_NONE, "TH", GW_KIND_DECLARATION, &th, why, sizeof(why)), 403);
  assert_non_null(strstr(why, "OU"));
  assert_int_equal(gw_access_may_submit(&anon, GW_ROLE_NONE, "TH", GW_KIND_DECLARATION, &th, why, sizeof(why)), 401);
}

static void rate_limit_refills(void **state) {
  (void)state;
  gw_access *a = gw_access_new(2, 3, 10, 1000); /* 2/s, burst 3 */
  uint64_t t = 1000000;
  for (int i = 0; i < 3; i++) assert_int_equal(gw_access_rate_take(a, "alice", t), 0);
  uint64_t wait = gw_access_rate_take(a, "alice", t);
  assert_true(wait > 0 && wait <= 501);
  assert_int_equal(gw_access_rate_take(a, "bob", t), 0); /* per identity */
  assert_int_equal(gw_access_rate_take(a, "alice", t + 500), 0);
  assert_true(gw_access_rate_take(a, "alice", t + 500) > 0);
  gw_access_free(a);
  gw_access *unlimited = gw_access_new(0, 1, 10, 1000);
  for (int i = 0; i < 1000; i++) assert_int_equal(gw_access_rate_take(unlimited, "x", t), 0);
  gw_access_free(unlimited);
}

static void replays(void **state) {
  (void)state;
  gw_access *a = gw_access_new(0, 1, 2, 1000);
  unsigned char d1[32] = {1}, d2[32] = {2};
  int st = 0;
  const char *body = NULL;
  assert_int_equal(gw_access_replay_check(a, "k1", d1, 0, &st, &body), GW_REPLAY_NEW);
  assert_int_equal(gw_access_replay_check(a, "k1", d1, 1, &st, &body), GW_REPLAY_IN_PROGRESS);
  gw_access_replay_done(a, "k1", 202, "{\"id\":\"first\"}");
  assert_int_equal(gw_access_replay_check(a, "k1", d1, 2, &st, &body), GW_REPLAY_SAME);
  assert_int_equal(st, 202);
  assert_string_equal(body, "{\"id\":\"first\"}");
  assert_int_equal(gw_access_replay_check(a, "k1", d2, 3, &st, &body), GW_REPLAY_CONFLICT);
  /* A passing failure is forgotten: the client may send it again. */
  assert_int_equal(gw_access_replay_check(a, "k2", d1, 4, &st, &body), GW_REPLAY_NEW);
  gw_access_replay_done(a, "k2", 0, NULL);
  assert_int_equal(gw_access_replay_check(a, "k2", d2, 5, &st, &body), GW_REPLAY_NEW);
  gw_access_replay_done(a, "k2", 422, "{}");
  /* Full (2 entries): the oldest answered one makes room. */
  assert_int_equal(gw_access_replay_check(a, "k3", d1, 6, &st, &body), GW_REPLAY_NEW);
  assert_int_equal(gw_access_replay_check(a, "k1", d2, 7, &st, &body), GW_REPLAY_NEW);
  /* After the window it is new again. */
  gw_access_replay_done(a, "k3", 202, "{}");
  assert_int_equal(gw_access_replay_check(a, "k3", d2, 5000, &st, &body), GW_REPLAY_NEW);
  gw_access_free(a);
}

static void read_policy(void **state) {
  (void)state;
  char why[300];
  const char *subs[] = {"TH/Siam Durian Co", "TH/Other Exporter"};
  gw_read_target th_vn = {"TH", "VN", subs, 2}, kh_la = {"KH", "LA", NULL, 0};
  gw_identity adm = ident("MM", "admin"), ins_vn = ident("VN", "inspector"), ins_mm = ident("MM", "inspector");
  gw_identity cus_th = ident("TH", "customs-system"), tr = ident("TH", "trader"), tr_other = ident("TH", "trader"),
              tr_vn = ident("VN", "trader"), anon = {0}, norole = ident("TH", "sales");
  snprintf(tr.org, sizeof(tr.org), "Siam Durian Co");
  snprintf(tr_other.org, sizeof(tr_other.org), "Siam Durian");
  snprintf(tr_vn.org, sizeof(tr_vn.org), "Siam Durian Co");
  assert_int_equal(gw_access_may_read(&adm, GW_ROLE_ADMIN, &kh_la, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_read(&ins_vn, GW_ROLE_INSPECTOR, &th_vn, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_read(&ins_mm, GW_ROLE_INSPECTOR, &th_vn, why, sizeof(why)), 403);
  assert_non_null(strstr(why, "from TH to VN"));
  assert_int_equal(gw_access_may_read(&cus_th, GW_ROLE_CUSTOMS, &th_vn, why, sizeof(why)), 0);
  assert_int_equal(gw_access_may_read(&cus_th, GW_ROLE_CUSTOMS, &kh_la, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_read(&tr, GW_ROLE_TRADER, &th_vn, why, sizeof(why)), 0);
  /* the organisation must match whole, and in the same country */
  assert_int_equal(gw_access_may_read(&tr_other, GW_ROLE_TRADER, &th_vn, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_read(&tr_vn, GW_ROLE_TRADER, &th_vn, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_read(&tr, GW_ROLE_TRADER, &kh_la, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_read(&anon, GW_ROLE_NONE, &th_vn, why, sizeof(why)), 401);
  assert_int_equal(gw_access_may_read(&anon, GW_ROLE_INSPECTOR, &th_vn, why, sizeof(why)), 403);
  assert_int_equal(gw_access_may_read(&norole, GW_ROLE_NONE, &th_vn, why, sizeof(why)), 403);
  assert_non_null(strstr(why, "sales"));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(roles_from_ou), cmocka_unit_test(submit_policy),
                                     cmocka_unit_test(read_policy),
                                     cmocka_unit_test(rate_limit_refills), cmocka_unit_test(replays)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
