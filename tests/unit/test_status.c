/* Status events and the status store: parsing, idempotent and
 * order-independent application, the contract's shipment rules, listing,
 * reset/rebuild, offsets and two connections on one file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status/store.h"
#include "testutil.h"

#define NOW ((time_t)1795926600) /* 2026-11-29T04:30:00Z */

/* ---- building events ---- */

static const char *g_origin = "TH", *g_destination = "VN", *g_submitter = "TH/Siam Trade Portal";

/* One event as JSON; sec: seconds after 2026-11-29T04:00:00Z; extra: more
 * members ("" or starting without a comma). malloc'd. */
static char *mk(const char *mid, const char *ucr, int sec, const char *stage, const char *type, const char *number,
                const char *extra) {
  char *b = malloc(4096);
  assert_non_null(b);
  snprintf(b, 4096,
           "{\"event_id\":\"%s-%s\",\"message_id\":\"%s\",\"ucr\":\"%s\",\"at\":\"2026-11-29T04:%02d:%02d.000Z\","
           "\"stage\":\"%s\",\"gateway\":\"TH\",\"instance\":\"lmcgw-1\",\"document_type\":\"%s\","
           "\"document_number\":\"%s\",\"origin\":\"%s\",\"destination\":\"%s\",\"submitter\":\"%s\"%s%s}",
           mid, stage, mid, ucr, sec / 60, sec % 60, stage, type, number, g_origin, g_destination, g_submitter,
           *extra ? "," : "", extra);
  return b;
}

static void apply_json(gw_status_store *s, const char *json) {
  gw_status_event ev;
  gw_error err = {0};
  int rc = gw_status_event_parse(json, strlen(json), &ev, &err);
  if (rc) fail_msg("parse %s: %s", json, err.msg);
  rc = gw_status_store_apply(s, &ev, &err);
  if (rc) fail_msg("apply: %s", err.msg);
  gw_status_event_free(&ev);
}

/* Applies a message's stages, one second apart from sec. */
static void msg(gw_status_store *s, const char *mid, const char *ucr, int sec, const char *type, const char *number,
                const char *extra, const char *const *stages) {
  for (int i = 0; stages[i]; i++) {
    char *j = mk(mid, ucr, sec + i, stages[i], type, number, extra);
    apply_json(s, j);
    free(j);
  }
}

static const char *const GOOD[] = {"RECEIVED", "VALIDATED", "SIGNED", "ROUTED", NULL};
static const char *const BAD[] = {"RECEIVED", "REJECTED", NULL};

static gw_status_store *open_mem(void) {
  gw_status_store *s = NULL;
  gw_error err = {0};
  if (gw_status_store_open(&s, ":memory:", &err)) fail_msg("open: %s", err.msg);
  return s;
}

static json_t *shipment(gw_status_store *s, const char *ucr) {
  char *j = NULL;
  gw_error err = {0};
  int rc = gw_status_store_shipment(s, ucr, NOW, &j, &err);
  if (rc) fail_msg("shipment %s: %s", ucr, err.msg);
  json_t *o = json_loads(j, 0, NULL);
  assert_non_null(o);
  free(j);
  return o;
}

static const char *sget(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

/* 1 when some entry of array a has member k containing text. */
static int any_contains(json_t *a, const char *k, const char *text) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    const char *s = json_string_value(json_object_get(v, k));
    if (s && strstr(s, text)) return 1;
  }
  return 0;
}

static void assert_status(gw_status_store *s, const char *ucr, const char *status) {
  json_t *o = shipment(s, ucr);
  if (strcmp(sget(o, "status"), status)) {
    char *d = json_dumps(o, JSON_INDENT(1));
    fail_msg("shipment %s: status %s, expected %s\n%s", ucr, sget(o, "status"), status, d);
  }
  json_decref(o);
}

/* ---- events ---- */

static const char full_event[] =
    "{\"event_id\":\"6f1c2a9e-0001\",\"message_id\":\"m-1\",\"ucr\":\"26TH0001\",\"at\":\"2026-11-29T04:30:00.123Z\","
    "\"stage\":\"SIGNED\",\"gateway\":\"TH\",\"instance\":\"lmcgw-1\",\"document_type\":\"declaration\","
    "\"document_number\":\"LRN-1\",\"format\":\"wco-dec\",\"source_format\":\"json\",\"origin\":\"TH\","
    "\"destination\":\"VN\",\"submitter\":\"TH/Siam Trade Portal\",\"hs_codes\":[\"081060\",\"0810.90\"],"
    "\"cites\":[{\"type\":\"851\",\"number\":\"TH-PC-2026-0001\"}],\"perishable\":true,"
    "\"signature\":{\"status\":\"valid\",\"signer\":\"CN=TH customs\",\"country\":\"TH\",\"chain\":[\"CN=TH root\"],"
    "\"algorithm\":\"ecdsa-sha256\"},\"problems\":[{\"code\":\"weight\",\"severity\":\"warning\",\"path\":\"/a/b\","
    "\"line\":12,\"message\":\"gross < net\"}],\"detail\":\"lmcgw.VN.declaration [0] @42\",\"decision\":null}";

static void event_round_trip(void **state) {
  (void)state;
  gw_status_event ev, ev2;
  gw_error err = {0};
  assert_int_equal(gw_status_event_parse(full_event, strlen(full_event), &ev, &err), 0);
  assert_string_equal(ev.ucr, "26TH0001");
  assert_int_equal(ev.stage, GW_STATUS_SIGNED);
  assert_int_equal(ev.n_hs_codes, 2);
  assert_int_equal(ev.n_cites, 1);
  assert_string_equal(ev.cites[0].number, "TH-PC-2026-0001");
  assert_non_null(ev.signature);
  assert_int_equal(ev.signature->n_chain, 1);
  assert_int_equal(ev.problems[0].line, 12);
  assert_int_equal(ev.decision, -1);
  char *j = gw_status_event_json(&ev);
  assert_string_equal(j, full_event); /* input is in the printed order and form */
  assert_int_equal(gw_status_event_parse(j, strlen(j), &ev2, &err), 0);
  char *j2 = gw_status_event_json(&ev2);
  assert_string_equal(j, j2);
  char *key = gw_status_event_key(&ev);
  assert_string_equal(key, "26TH0001|m-1|SIGNED");
  free(key);
  free(j);
  free(j2);
  gw_status_event_free(&ev);
  gw_status_event_free(&ev2);

  /* Minimal event: everything optional reads as empty; unknown fields and
   * nulls are fine; a time with an offset is normalised to UTC with ms. */
  const char *min = "{\"event_id\":\"e\",\"message_id\":\"m\",\"at\":\"2026-11-29T11:30:00+07:00\","
                    "\"stage\":\"RELEASED\",\"future\":{\"x\":[1]},\"detail\":null,\"decision\":\"RELEASED\"}";
  assert_int_equal(gw_status_event_parse(min, strlen(min), &ev, &err), 0);
  assert_string_equal(ev.ucr, "");
  assert_string_equal(ev.document_type, "");
  assert_null(ev.signature);
  assert_int_equal(ev.decision, GW_STATUS_RELEASED);
  j = gw_status_event_json(&ev);
  assert_non_null(strstr(j, "\"at\":\"2026-11-29T04:30:00.000Z\""));
  assert_non_null(strstr(j, "\"signature\":null"));
  assert_non_null(strstr(j, "\"decision\":\"RELEASED\""));
  assert_null(strstr(j, "future"));
  free(j);
  gw_status_event_free(&ev);

  int64_t ms;
  assert_int_equal(gw_status_time_parse("2026-11-29T04:30:00.123456Z", &ms), 0);
  char buf[32];
  gw_status_time_format(ms, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-29T04:30:00.123Z");
  assert_int_equal(gw_status_time_parse("2024-02-29T00:00:00Z", &ms), 0);
  gw_status_time_format(ms, buf, sizeof(buf));
  assert_string_equal(buf, "2024-02-29T00:00:00.000Z");
  assert_int_not_equal(gw_status_time_parse("2026-02-29T00:00:00Z", &ms), 0);
  assert_int_not_equal(gw_status_time_parse("2026-11-29 04:30:00Z", &ms), 0);
  assert_int_not_equal(gw_status_time_parse("2026-11-29T04:30:00", &ms), 0);
  assert_int_not_equal(gw_status_time_parse("2026-11-29T04:30:00.Z", &ms), 0);
}

/* Strings print as JSON that any parser reads back to the same text:
 * quotes, backslashes, control characters escaped, '/' and UTF-8 as they are;
 * bytes that are not UTF-8 (a document's bad encoding) become U+FFFD instead
 * of losing the field. */
static void event_strings_escaped(void **state) {
  (void)state;
  char *hs[] = {"08\"10", "a\\b"};
  gw_status_problem prob = {.code = "bad\x01" "code", .severity = "error", .path = "/x/y", .line = 7,
                            .message = "line\nbreak\ttab \xE0\xB8\x97\xE0\xB8\xB8 \xC3\x28 \xED\xA0\x80 \xF5\x80"};
  gw_status_event ev = {.event_id = "e/1", .message_id = "m", .ucr = "\xC3\xA9t\xC3\xA9", .at_ms = 0,
                        .stage = GW_STATUS_REJECTED, .hs_codes = hs, .n_hs_codes = 2, .problems = &prob,
                        .n_problems = 1, .decision = -1};
  char *j = gw_status_event_json(&ev);
  assert_non_null(j);
  assert_non_null(strstr(j, "\"event_id\":\"e/1\""));
  assert_non_null(strstr(j, "\"hs_codes\":[\"08\\\"10\",\"a\\\\b\"]"));
  assert_non_null(strstr(j, "\"code\":\"bad\\u0001code\""));
  assert_non_null(strstr(j, "\"line\":7,"));
  json_error_t je;
  json_t *o = json_loads(j, 0, &je);
  if (!o) fail_msg("not JSON: %s: %s", je.text, j);
  assert_string_equal(sget(o, "ucr"), "\xC3\xA9t\xC3\xA9");
  json_t *p0 = json_array_get(json_object_get(o, "problems"), 0);
  assert_string_equal(sget(p0, "code"), "bad\x01" "code");
  assert_string_equal(sget(p0, "message"), "line\nbreak\ttab \xE0\xB8\x97\xE0\xB8\xB8 \xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
                                           "\xEF\xBF\xBD\xEF\xBF\xBD");
  json_decref(o);
  gw_status_event back;
  gw_error err = {0};
  assert_int_equal(gw_status_event_parse(j, strlen(j), &back, &err), 0);
  char *j2 = gw_status_event_json(&back);
  assert_string_equal(j, j2);
  gw_status_event_free(&back);
  free(j);
  free(j2);
}

static void expect_error(const char *json, int code, const char *path, const char *text) {
  gw_status_event ev;
  gw_error err = {0};
  int rc = gw_status_event_parse(json, strlen(json), &ev, &err);
  if (rc != code) fail_msg("%s: rc %d (%s), expected %d", json, rc, err.msg, code);
  if (path) assert_string_equal(err.path, path);
  if (!strstr(err.msg, text)) fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.msg, text);
  assert_null(ev.event_id); /* nothing left to free */
}

#define HEAD "\"event_id\":\"e\",\"message_id\":\"m\",\"at\":\"2026-11-29T04:30:00Z\",\"stage\":\"RECEIVED\""

static void event_errors(void **state) {
  (void)state;
  expect_error("{\"event_id\":", GW_EPARSE, NULL, "not JSON");
  expect_error("[1,2]", GW_ESCHEMA, "", "must be a JSON object, not an array");
  expect_error("{\"message_id\":\"m\",\"at\":\"2026-11-29T04:30:00Z\",\"stage\":\"RECEIVED\"}", GW_ESCHEMA,
               "/event_id", "field \"event_id\" is required");
  expect_error("{\"event_id\":\"\",\"message_id\":\"m\",\"at\":\"2026-11-29T04:30:00Z\",\"stage\":\"RECEIVED\"}",
               GW_ESCHEMA, "/event_id", "must not be empty");
  expect_error("{\"event_id\":7,\"message_id\":\"m\",\"at\":\"2026-11-29T04:30:00Z\",\"stage\":\"RECEIVED\"}",
               GW_ESCHEMA, "/event_id", "must be a string, not a number");
  expect_error("{\"event_id\":\"e\",\"message_id\":\"m\",\"at\":\"yesterday\",\"stage\":\"RECEIVED\"}", GW_ESCHEMA,
               "/at", "RFC 3339");
  expect_error("{\"event_id\":\"e\",\"message_id\":\"m\",\"at\":\"2026-11-29T04:30:00Z\",\"stage\":\"LOST\"}",
               GW_ESCHEMA, "/stage", "unknown stage \"LOST\"");
  expect_error("{" HEAD ",\"document_type\":\"invoice\"}", GW_ESCHEMA, "/document_type", "unknown document type");
  expect_error("{" HEAD ",\"hs_codes\":[\"081060\",81060]}", GW_ESCHEMA, "/hs_codes/1", "must be a string");
  expect_error("{" HEAD ",\"hs_codes\":\"081060\"}", GW_ESCHEMA, "/hs_codes", "must be an array");
  expect_error("{" HEAD ",\"cites\":[{\"type\":\"851\"}]}", GW_ESCHEMA, "/cites/0/number", "is required");
  expect_error("{" HEAD ",\"perishable\":\"yes\"}", GW_ESCHEMA, "/perishable", "must be a boolean");
  expect_error("{" HEAD ",\"signature\":\"valid\"}", GW_ESCHEMA, "/signature", "object or null");
  expect_error("{" HEAD ",\"signature\":{\"chain\":[1]}}", GW_ESCHEMA, "/signature/chain/0", "must be a string");
  expect_error("{" HEAD ",\"problems\":[{\"line\":\"12\"}]}", GW_ESCHEMA, "/problems/0/line", "integer");
  expect_error("{" HEAD ",\"decision\":\"SIGNED\"}", GW_ESCHEMA, "/decision", "not a customs decision");
  expect_error("{" HEAD ",\"ucr\":\"a\",\"ucr\":\"b\"}", GW_EPARSE, NULL, "duplicate");
  char *big = malloc(GW_STATUS_EVENT_MAX + 2);
  memset(big, ' ', GW_STATUS_EVENT_MAX + 1);
  big[GW_STATUS_EVENT_MAX + 1] = 0;
  expect_error(big, GW_ETOOBIG, NULL, "over the limit");
  free(big);
}

static void hs_rules(void **state) {
  (void)state;
  const char *durian[] = {"081060"}, *laptop[] = {"847130"}, *mixed[] = {"8471", "0303.89"}, *sugar[] = {"1701"},
             *junk[] = {"", "x1", "9"};
  assert_true(gw_status_perishable(durian, 1));
  assert_true(gw_status_needs_sps(durian, 1));
  assert_false(gw_status_perishable(laptop, 1));
  assert_false(gw_status_needs_sps(laptop, 1));
  assert_true(gw_status_needs_sps(mixed, 2));
  assert_true(gw_status_perishable(sugar, 1)); /* chapter 17: perishable list, no SPS */
  assert_false(gw_status_needs_sps(sugar, 1));
  assert_false(gw_status_perishable(junk, 3));
  assert_string_equal(gw_status_sps_code(8), "851");
  assert_string_equal(gw_status_sps_code(16), "852");
  assert_string_equal(gw_status_sps_code(1), "853");
  assert_null(gw_status_sps_code(15));
  assert_int_equal(gw_status_stage_parse("DELIVERY_FAILED"), GW_STATUS_DELIVERY_FAILED);
  assert_string_equal(gw_status_stage_name(GW_STATUS_INSPECTION_REQUIRED), "INSPECTION_REQUIRED");
  assert_null(gw_status_stage_name(GW_STATUS_COUNT));
}

/* ---- shipments ---- */

#define DURIAN "\"hs_codes\":[\"081060\"],\"perishable\":true"

static void durian_alone_then_sps(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  msg(s, "d1", "U1", 0, "declaration", "LRN-1", DURIAN, GOOD);
  json_t *o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "IN_PROGRESS");
  assert_true(json_is_true(json_object_get(o, "perishable")));
  json_t *missing = json_object_get(o, "missing");
  assert_int_equal(json_array_size(missing), 1);
  assert_string_equal(sget(json_array_get(missing, 0), "type"), "sps_certificate");
  assert_true(json_is_null(json_object_get(json_array_get(missing, 0), "number")));
  assert_string_equal(sget(json_array_get(missing, 0), "why"),
                      "HS 081060 (chapter 08, plant products) needs a phytosanitary certificate (851)");
  assert_true(any_contains(json_object_get(o, "required"), "why", "phytosanitary certificate (851)"));
  assert_string_equal(sget(o, "first_seen"), "2026-11-29T04:00:00.000Z");
  assert_int_equal(json_integer_value(json_object_get(o, "elapsed_s")), 1800);
  json_decref(o);

  /* SPS certificate received but not yet signed: still missing, saying why. */
  const char *const upto_validated[] = {"RECEIVED", "VALIDATED", NULL};
  msg(s, "p1", "U1", 10, "sps_certificate", "TH-PC-2026-0001", DURIAN, upto_validated);
  o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "IN_PROGRESS");
  assert_true(any_contains(json_object_get(o, "missing"), "why", "TH-PC-2026-0001 is not signed yet"));
  json_decref(o);

  const char *const sign[] = {"SIGNED", NULL};
  msg(s, "p1", "U1", 12, "sps_certificate", "TH-PC-2026-0001", DURIAN, sign);
  o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "READY_FOR_CLEARANCE");
  assert_int_equal(json_array_size(json_object_get(o, "missing")), 0);
  json_t *docs = json_object_get(o, "documents");
  assert_int_equal(json_array_size(docs), 2);
  assert_string_equal(sget(json_array_get(docs, 0), "type"), "declaration");
  assert_string_equal(sget(json_array_get(docs, 1), "number"), "TH-PC-2026-0001");
  assert_true(json_is_true(json_object_get(json_array_get(docs, 1), "signed")));
  assert_int_equal(json_array_size(json_object_get(o, "timeline")), 7);
  assert_string_equal(sget(o, "last_update"), "2026-11-29T04:00:12.000Z");
  json_decref(o);
  gw_status_store_close(s);
}

static void sps_cited_with_other_ucr(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  msg(s, "d1", "U1", 0, "declaration", "LRN-1",
      DURIAN ",\"cites\":[{\"type\":\"851\",\"number\":\"TH-PC-2026-0001\"}]", GOOD);
  json_t *o = shipment(s, "U1");
  json_t *m = json_array_get(json_object_get(o, "missing"), 0);
  assert_string_equal(sget(m, "number"), "TH-PC-2026-0001");
  assert_string_equal(sget(m, "why"), "the declaration cites phytosanitary certificate TH-PC-2026-0001, not received");
  json_decref(o);
  /* An uncited certificate with the same UCR does not stand in for the cited one. */
  msg(s, "p0", "U1", 5, "sps_certificate", "TH-PC-2026-0999", DURIAN, GOOD);
  assert_status(s, "U1", "IN_PROGRESS");
  msg(s, "p1", "OTHER-UCR", 10, "sps_certificate", "TH-PC-2026-0001", DURIAN, GOOD);
  o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "READY_FOR_CLEARANCE");
  assert_true(any_contains(json_object_get(o, "documents"), "message_id", "p1"));
  assert_true(any_contains(json_object_get(o, "timeline"), "message_id", "p1"));
  json_decref(o);
  /* The certificate is also its own (incomplete) shipment under its UCR. */
  assert_status(s, "OTHER-UCR", "IN_PROGRESS");
  gw_status_store_close(s);
}

static void rejected_declaration(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  const char *prob = "\"problems\":[{\"code\":\"schema_invalid\",\"severity\":\"error\",\"path\":\"/Declaration\","
                     "\"line\":3,\"message\":\"missing GoodsItem\"}]";
  msg(s, "d1", "U1", 0, "declaration", "LRN-1", prob, BAD);
  json_t *o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "REJECTED");
  assert_true(any_contains(json_object_get(o, "missing"), "why", "declaration LRN-1 was rejected"));
  json_decref(o);
  char *j = NULL;
  gw_error err = {0};
  assert_int_equal(gw_status_store_message(s, "d1", &j, &err), 0);
  o = json_loads(j, 0, NULL);
  free(j);
  assert_string_equal(sget(o, "status"), "REJECTED");
  assert_string_equal(sget(o, "document_number"), "LRN-1");
  json_t *evs = json_object_get(o, "events");
  assert_int_equal(json_array_size(evs), 2);
  assert_string_equal(sget(json_array_get(evs, 0), "stage"), "RECEIVED");
  assert_true(any_contains(json_object_get(json_array_get(evs, 1), "problems"), "message", "missing GoodsItem"));
  json_decref(o);
  assert_int_equal(gw_status_store_message(s, "nope", &j, &err), GW_ENOTFOUND);
  assert_null(j);
  assert_int_equal(gw_status_store_shipment(s, "nope", NOW, &j, &err), GW_ENOTFOUND);
  /* A corrected resubmission (same LRN, new message) replaces it. */
  msg(s, "d2", "U1", 30, "declaration", "LRN-1", "\"hs_codes\":[\"847130\"]", GOOD);
  assert_status(s, "U1", "READY_FOR_CLEARANCE");
  gw_status_store_close(s);
}

static void preference_needs_co(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  msg(s, "d1", "U1", 0, "declaration", "LRN-1",
      "\"hs_codes\":[\"847130\"],\"cites\":[{\"type\":\"861\",\"number\":\"E-2026-000123\"}]", GOOD);
  json_t *o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "IN_PROGRESS");
  assert_true(any_contains(json_object_get(o, "required"), "type", "certificate_of_origin"));
  json_t *m = json_array_get(json_object_get(o, "missing"), 0);
  assert_string_equal(sget(m, "type"), "certificate_of_origin");
  assert_string_equal(sget(m, "why"), "the declaration cites certificate of origin E-2026-000123, not received");
  json_decref(o);
  msg(s, "c1", "", 20, "certificate_of_origin", "E-2026-000123", "", GOOD);
  assert_status(s, "U1", "READY_FOR_CLEARANCE");
  gw_status_store_close(s);
}

static void customs_decisions(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  msg(s, "d1", "U1", 0, "declaration", "LRN-1", DURIAN, GOOD);
  /* A decision overrides what is missing. */
  const char *const recv[] = {"RECEIVED", "VALIDATED", NULL};
  msg(s, "r1", "U1", 20, "response", "RESP-1", "\"decision\":\"INSPECTION_REQUIRED\"", recv);
  assert_status(s, "U1", "INSPECTION_REQUIRED");
  const char *const released[] = {"RELEASED", NULL};
  msg(s, "r2", "U1", 40, "response", "RESP-2", "", released);
  assert_status(s, "U1", "RELEASED");
  gw_status_store_close(s);
}

static void non_perishable_no_sps(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  msg(s, "d1", "U1", 0, "declaration", "LRN-1", "\"hs_codes\":[\"8471\"]", GOOD);
  json_t *o = shipment(s, "U1");
  assert_string_equal(sget(o, "status"), "READY_FOR_CLEARANCE");
  assert_true(json_is_false(json_object_get(o, "perishable")));
  assert_int_equal(json_array_size(json_object_get(o, "required")), 1); /* the declaration only */
  assert_int_equal(json_array_size(json_object_get(o, "missing")), 0);
  json_decref(o);
  /* Without a declaration nothing is ready. */
  msg(s, "p1", "U2", 0, "sps_certificate", "X", DURIAN, GOOD);
  o = shipment(s, "U2");
  assert_string_equal(sget(o, "status"), "IN_PROGRESS");
  assert_true(any_contains(json_object_get(o, "missing"), "type", "declaration"));
  json_decref(o);
  gw_status_store_close(s);
}

/* ---- idempotence and order ---- */

/* The events of a small world: three shipments, cross-UCR citing, a
 * rejection, a decision. malloc'd strings, NULL-terminated. */
static char **world(size_t *n) {
  static const struct {
    const char *mid, *ucr, *type, *number, *extra;
    int sec;
    const char *const *stages;
  } msgs[] = {
      {"d1", "U1", "declaration", "LRN-1", DURIAN ",\"cites\":[{\"type\":\"851\",\"number\":\"PC-1\"}]", 0, GOOD},
      {"p1", "UX", "sps_certificate", "PC-1", DURIAN, 100, GOOD},
      {"d2", "U2", "declaration", "LRN-2", "\"hs_codes\":[\"030617\"]", 50, BAD},
      {"d3", "U3", "declaration", "LRN-3", "\"hs_codes\":[\"8471\"]", 200, GOOD},
      {"r3", "U3", "response", "R-3", "\"decision\":\"ACCEPTED\"", 300, BAD},
      /* Same second as d1's VALIDATED: ties must still come out the same. */
      {"p9", "U1", "sps_certificate", "PC-9", DURIAN, 1, GOOD},
  };
  size_t cnt = 0;
  char **v = calloc(64, sizeof(char *));
  for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
    for (int k = 0; msgs[i].stages[k]; k++)
      v[cnt++] = mk(msgs[i].mid, msgs[i].ucr, msgs[i].sec + k, msgs[i].stages[k], msgs[i].type, msgs[i].number,
                    msgs[i].extra);
  *n = cnt;
  return v;
}

static void free_world(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* Every answer the store gives about the world, concatenated. */
static char *answers(gw_status_store *s) {
  static const char *const ucrs[] = {"U1", "U2", "U3", "UX"};
  static const char *const mids[] = {"d1", "p1", "d2", "d3", "r3", "p9"};
  size_t cap = 1 << 16, len = 0;
  char *out = calloc(1, cap);
  gw_error err = {0};
  for (size_t i = 0; i < 4; i++) {
    char *j;
    assert_int_equal(gw_status_store_shipment(s, ucrs[i], NOW, &j, &err), 0);
    len += (size_t)snprintf(out + len, cap - len, "%s\n", j);
    free(j);
  }
  for (size_t i = 0; i < 6; i++) {
    char *j;
    assert_int_equal(gw_status_store_message(s, mids[i], &j, &err), 0);
    len += (size_t)snprintf(out + len, cap - len, "%s\n", j);
    free(j);
  }
  gw_status_filter f = {.perishable = -1};
  char *j;
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), 0);
  len += (size_t)snprintf(out + len, cap - len, "%s\n", j);
  free(j);
  assert_true(len < cap);
  return out;
}

static void idempotent_and_order_free(void **state) {
  (void)state;
  size_t n;
  char **w = world(&n);
  gw_status_store *a = open_mem(), *b = open_mem(), *c = open_mem();
  for (size_t i = 0; i < n; i++) apply_json(a, w[i]);
  char *ans_a = answers(a);
  /* Everything again, twice over: nothing changes. */
  for (size_t i = 0; i < n; i++) apply_json(a, w[i]);
  char *ans_a2 = answers(a);
  assert_string_equal(ans_a, ans_a2);
  /* Reversed, and a fixed shuffle. */
  for (size_t i = n; i-- > 0;) apply_json(b, w[i]);
  char *ans_b = answers(b);
  assert_string_equal(ans_a, ans_b);
  srand(42);
  size_t *perm = malloc(n * sizeof(size_t));
  for (size_t i = 0; i < n; i++) perm[i] = i;
  for (size_t i = n - 1; i > 0; i--) {
    size_t k = (size_t)rand() % (i + 1), t = perm[i];
    perm[i] = perm[k];
    perm[k] = t;
  }
  for (size_t i = 0; i < n; i++) apply_json(c, w[perm[i]]);
  char *ans_c = answers(c);
  assert_string_equal(ans_a, ans_c);
  /* And what the world means. */
  assert_status(a, "U1", "READY_FOR_CLEARANCE");
  assert_status(a, "U2", "REJECTED");
  assert_status(a, "U3", "ACCEPTED");
  json_t *o = shipment(a, "U2");
  assert_true(any_contains(json_object_get(o, "required"), "why",
                           "HS 030617 (chapter 03, animal products) needs a sanitary certificate (852)"));
  json_decref(o);
  char *j;
  gw_error err = {0};
  assert_int_equal(gw_status_store_message(a, "d1", &j, &err), 0);
  assert_non_null(strstr(j, "\"status\":\"ROUTED\""));
  free(j);
  free(perm);
  free(ans_a);
  free(ans_a2);
  free(ans_b);
  free(ans_c);
  free_world(w, n);
  gw_status_store_close(a);
  gw_status_store_close(b);
  gw_status_store_close(c);
}

static void reset_and_rebuild(void **state) {
  (void)state;
  size_t n;
  char **w = world(&n);
  gw_status_store *s = open_mem();
  gw_error err = {0};
  for (size_t i = 0; i < n; i++) apply_json(s, w[i]);
  assert_int_equal(gw_status_store_offset_set(s, "lmcgw.status", 0, (int64_t)n, &err), 0);
  char *before = answers(s);
  assert_int_equal(gw_status_store_reset(s, &err), 0);
  char *j = NULL;
  assert_int_equal(gw_status_store_shipment(s, "U1", NOW, &j, &err), GW_ENOTFOUND);
  int64_t off;
  assert_int_equal(gw_status_store_offset_get(s, "lmcgw.status", 0, &off, &err), 0);
  assert_int_equal(off, -1);
  gw_status_filter f = {.perishable = -1};
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), 0);
  assert_string_equal(j, "{\"shipments\":[],\"next\":null}");
  free(j);
  for (size_t i = 0; i < n; i++) apply_json(s, w[i]);
  char *after = answers(s);
  assert_string_equal(before, after);
  free(before);
  free(after);
  free_world(w, n);
  gw_status_store_close(s);
}

/* ---- list ---- */

static json_t *list(gw_status_store *s, gw_status_filter f) {
  char *j = NULL;
  gw_error err = {0};
  if (gw_status_store_list(s, &f, &j, &err)) fail_msg("list: %s", err.msg);
  json_t *o = json_loads(j, 0, NULL);
  free(j);
  assert_non_null(o);
  return o;
}

static size_t count(gw_status_store *s, gw_status_filter f) {
  json_t *o = list(s, f);
  size_t n = json_array_size(json_object_get(o, "shipments"));
  json_decref(o);
  return n;
}

static void list_filters_paging_scopes(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  char mid[32], ucr[32];
  /* 12 shipments: TH->VN durian (even) or KH->LA laptops (odd), submitted by two
   * portals; shipment i last updated at minute i. */
  for (int i = 0; i < 12; i++) {
    snprintf(mid, sizeof(mid), "m%02d", i);
    snprintf(ucr, sizeof(ucr), "U%02d", i);
    g_origin = i % 2 ? "KH" : "TH";
    g_destination = i % 2 ? "LA" : "VN";
    g_submitter = i % 3 ? "TH/Siam Trade Portal" : "KH/Angkor Export";
    msg(s, mid, ucr, i * 60, "declaration", mid, i % 2 ? "\"hs_codes\":[\"8471\"]" : DURIAN, GOOD);
  }
  g_origin = "TH", g_destination = "VN", g_submitter = "TH/Siam Trade Portal";
  gw_status_filter all = {.perishable = -1};
  json_t *o = list(s, all);
  json_t *a = json_object_get(o, "shipments");
  assert_int_equal(json_array_size(a), 12);
  assert_true(json_is_null(json_object_get(o, "next")));
  json_t *first = json_array_get(a, 0);
  assert_string_equal(sget(first, "ucr"), "U11"); /* newest first */
  assert_string_equal(sget(first, "status"), "READY_FOR_CLEARANCE");
  assert_int_equal(json_integer_value(json_object_get(first, "documents")), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 1), "missing")), 1);
  assert_string_equal(sget(json_array_get(a, 11), "ucr"), "U00");
  json_decref(o);

  gw_status_filter f = all;
  f.country = "KH";
  assert_int_equal(count(s, f), 6);
  f.country = "VN";
  assert_int_equal(count(s, f), 6);
  f = all;
  f.status = "IN_PROGRESS";
  assert_int_equal(count(s, f), 6);
  f = all;
  f.perishable = 1;
  assert_int_equal(count(s, f), 6);
  f.perishable = 0;
  assert_int_equal(count(s, f), 6);
  f = all;
  f.since = "2026-11-29T04:09:00Z";
  assert_int_equal(count(s, f), 3); /* U09..U11 */
  f = all;
  f.scope = GW_STATUS_SCOPE_COUNTRY;
  f.scope_value = "LA";
  assert_int_equal(count(s, f), 6);
  f.scope_value = "CN";
  assert_int_equal(count(s, f), 0);
  f = all;
  f.scope = GW_STATUS_SCOPE_SUBMITTER;
  f.scope_value = "KH/Angkor Export";
  assert_int_equal(count(s, f), 4); /* 0, 3, 6, 9 */
  f.country = "VN";
  assert_int_equal(count(s, f), 2); /* 0, 6 */

  /* Paging: 5 at a time, cursor to cursor, every shipment once, in order. */
  f = all;
  f.limit = 5;
  char *cursor = NULL;
  int seen = 0, pages = 0;
  char expect[8];
  do {
    f.cursor = cursor;
    o = list(s, f);
    a = json_object_get(o, "shipments");
    for (size_t i = 0; i < json_array_size(a); i++, seen++) {
      snprintf(expect, sizeof(expect), "U%02d", 11 - seen);
      assert_string_equal(sget(json_array_get(a, i), "ucr"), expect);
    }
    free(cursor);
    json_t *next = json_object_get(o, "next");
    cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
    json_decref(o);
    pages++;
  } while (cursor);
  assert_int_equal(seen, 12);
  assert_int_equal(pages, 3);
  /* Paging with a filter, and an update between pages moving a row to the
   * top: rows already passed are not shown again. */
  f.perishable = 1;
  f.limit = 2;
  f.cursor = NULL;
  o = list(s, f);
  cursor = strdup(json_string_value(json_object_get(o, "next")));
  json_decref(o);
  msg(s, "late", "U10", 900, "sps_certificate", "PC-10", DURIAN, GOOD);
  f.cursor = cursor;
  o = list(s, f);
  a = json_object_get(o, "shipments");
  assert_string_equal(sget(json_array_get(a, 0), "ucr"), "U06");
  json_decref(o);
  free(cursor);

  f = all;
  f.limit = 100000;
  assert_int_equal(count(s, f), 12); /* capped, not refused */
  char *j = NULL;
  gw_error err = {0};
  f = all;
  f.status = "LOST";
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "LOST"));
  f = all;
  f.cursor = "garbage";
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), GW_EINVAL);
  f.cursor = "12-zz";
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), GW_EINVAL);
  f = all;
  f.since = "last week";
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), GW_EINVAL);
  f = all;
  f.scope = GW_STATUS_SCOPE_SUBMITTER;
  assert_int_equal(gw_status_store_list(s, &f, &j, &err), GW_EINVAL);
  assert_null(j);
  gw_status_store_close(s);
}

static void read_targets(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  gw_error err = {0};
  msg(s, "d1", "U1", 0, "declaration", "LRN-1", DURIAN ",\"cites\":[{\"type\":\"851\",\"number\":\"PC-1\"}]", GOOD);
  g_submitter = "TH/Dept of Agriculture";
  msg(s, "p1", "UX", 10, "sps_certificate", "PC-1", DURIAN, GOOD);
  g_submitter = "";
  msg(s, "r1", "U1", 20, "response", "R-1", "", GOOD);
  /* Someone who only guessed the UCR: a rejected message makes nobody a party. */
  g_submitter = "TH/Curious Competitor";
  msg(s, "x1", "U1", 30, "declaration", "LRN-X", "", BAD);
  g_submitter = "TH/Siam Trade Portal";
  json_t *sh = shipment(s, "U1");
  assert_string_not_equal(sget(sh, "status"), "REJECTED"); /* nor does it displace the declaration */
  json_decref(sh);
  gw_status_target t;
  assert_int_equal(gw_status_store_read_target(s, "U1", &t, &err), 0);
  assert_string_equal(t.origin, "TH");
  assert_string_equal(t.destination, "VN");
  assert_int_equal(t.n_submitters, 2); /* the cited certificate's submitter counts, anonymous does not */
  assert_string_equal(t.submitters[0], "TH/Dept of Agriculture");
  assert_string_equal(t.submitters[1], "TH/Siam Trade Portal");
  gw_status_target_free(&t);
  assert_int_equal(gw_status_store_read_target(s, "nope", &t, &err), GW_ENOTFOUND);
  assert_int_equal(gw_status_store_message_target(s, "r1", &t, &err), 0);
  assert_string_equal(t.origin, "TH");
  assert_int_equal(t.n_submitters, 2);
  gw_status_target_free(&t);
  assert_int_equal(gw_status_store_message_target(s, "nope", &t, &err), GW_ENOTFOUND);
  gw_status_store_close(s);
}

/* ---- transactions, offsets, files ---- */

static gw_status_event *parse_all(char **w, size_t n) {
  gw_status_event *evs = calloc(n, sizeof(*evs));
  gw_error err = {0};
  for (size_t i = 0; i < n; i++) assert_int_equal(gw_status_event_parse(w[i], strlen(w[i]), &evs[i], &err), 0);
  return evs;
}

static void batches_and_offsets(void **state) {
  (void)state;
  size_t n;
  char **w = world(&n);
  gw_status_event *evs = parse_all(w, n);
  gw_status_store *s = open_mem();
  gw_error err = {0};
  int64_t off;
  assert_int_equal(gw_status_store_offset_get(s, "t", 3, &off, &err), 0);
  assert_int_equal(off, -1);
  /* Rolled back: neither events nor offset. */
  assert_int_equal(gw_status_store_begin(s, &err), 0);
  assert_int_equal(gw_status_store_begin(s, &err), GW_EINVAL);
  for (size_t i = 0; i < n; i++) assert_int_equal(gw_status_store_apply(s, &evs[i], &err), 0);
  assert_int_equal(gw_status_store_offset_set(s, "t", 3, 99, &err), 0);
  gw_status_store_rollback(s);
  assert_int_equal(gw_status_store_offset_get(s, "t", 3, &off, &err), 0);
  assert_int_equal(off, -1);
  char *j = NULL;
  assert_int_equal(gw_status_store_shipment(s, "U1", NOW, &j, &err), GW_ENOTFOUND);
  /* A bad event fails the whole batch. */
  gw_status_event bad = evs[0];
  bad.event_id = "";
  gw_status_event two[2] = {evs[0], bad};
  assert_int_equal(gw_status_store_apply_batch(s, two, 2, "t", 3, 1, &err), GW_EINVAL);
  assert_int_equal(gw_status_store_offset_get(s, "t", 3, &off, &err), 0);
  assert_int_equal(off, -1);
  /* Committed in two batches. */
  assert_int_equal(gw_status_store_apply_batch(s, evs, n / 2, "t", 3, (int64_t)(n / 2), &err), 0);
  assert_int_equal(gw_status_store_apply_batch(s, evs + n / 2, n - n / 2, "t", 3, (int64_t)n, &err), 0);
  assert_int_equal(gw_status_store_offset_get(s, "t", 3, &off, &err), 0);
  assert_int_equal(off, (int64_t)n);
  assert_int_equal(gw_status_store_offset_get(s, "t", 4, &off, &err), 0);
  assert_int_equal(off, -1);
  char *batched = answers(s);
  gw_status_store *one = open_mem();
  for (size_t i = 0; i < n; i++) assert_int_equal(gw_status_store_apply(one, &evs[i], &err), 0);
  char *single = answers(one);
  assert_string_equal(batched, single);
  free(batched);
  free(single);
  gw_status_store_close(one);
  gw_status_store_close(s);
  for (size_t i = 0; i < n; i++) gw_status_event_free(&evs[i]);
  free(evs);
  free_world(w, n);
}

/* A batch that repeats a stored event_id with other content keeps the stored
 * event, also when the batch's other events recompute that message. */
static void batch_repeat_keeps_stored(void **state) {
  (void)state;
  gw_status_store *s = open_mem();
  gw_error err = {0};
  char *first = mk("M9", "U9", 0, "RECEIVED", "declaration", "N-1", "");
  apply_json(s, first);
  char *w[2] = {mk("M9", "U9", 0, "RECEIVED", "declaration", "N-2", ""),
                mk("M9", "U9", 1, "VALIDATED", "declaration", "", "")};
  gw_status_event *evs = parse_all(w, 2);
  assert_int_equal(gw_status_store_apply_batch(s, evs, 2, "t", 0, 2, &err), 0);
  char *j = NULL;
  assert_int_equal(gw_status_store_message(s, "M9", &j, &err), 0);
  json_t *o = json_loads(j, 0, NULL);
  assert_non_null(o);
  assert_string_equal(sget(o, "document_number"), "N-1");
  assert_string_equal(sget(o, "status"), "VALIDATED");
  json_decref(o);
  free(j);
  for (size_t i = 0; i < 2; i++) {
    gw_status_event_free(&evs[i]);
    free(w[i]);
  }
  free(evs);
  free(first);
  gw_status_store_close(s);
}

/* A message's later stages are folded onto its stored row (its cites and HS
 * codes included) when they come after its last event, and the row is built
 * from all events when one comes earlier. Both must give what one transaction
 * of everything gives, whatever the later stages add or change. */
static void later_stages_fold_onto_the_row(void **state) {
  (void)state;
  char *w[] = {
      mk("d7", "U7", 0, "RECEIVED", "declaration", "", ""),
      mk("d7", "U7", 1, "VALIDATED", "declaration", "LRN-7", "\"hs_codes\":[\"8471\"]"),
      mk("d7", "U7", 2, "SIGNED", "declaration", "LRN-7",
         DURIAN ",\"cites\":[{\"type\":\"851\",\"number\":\"PC-7\"}]"),
      /* The same second as SIGNED: a later stage still folds on. */
      mk("d7", "U7", 2, "ROUTED", "declaration", "LRN-7b", "\"cites\":[{\"type\":\"861\",\"number\":\"CO-7\"}]"),
      mk("p7", "U7", 3, "RECEIVED", "sps_certificate", "PC-7", DURIAN),
      mk("p7", "U7", 4, "SIGNED", "sps_certificate", "PC-7", ""),
      /* Earlier than the row's last event: rebuilt from all of them. */
      mk("p7", "U7", 3, "VALIDATED", "sps_certificate", "PC-7", ""),
      mk("r7", "U7", 9, "RECEIVED", "response", "R-7", ""),
      mk("r7", "U7", 10, "ROUTED", "response", "R-7", "\"decision\":\"RELEASED\""),
  };
  size_t n = sizeof(w) / sizeof(w[0]);
  gw_status_event *evs = parse_all(w, n);
  gw_status_store *one = open_mem(), *each = open_mem();
  gw_error err = {0};
  assert_int_equal(gw_status_store_apply_batch(one, evs, n, NULL, 0, 0, &err), 0);
  for (size_t i = 0; i < n; i++) assert_int_equal(gw_status_store_apply_batch(each, evs + i, 1, NULL, 0, 0, &err), 0);
  static const char *const ids[] = {"d7", "p7", "r7"};
  for (size_t i = 0; i < 3; i++) {
    char *a = NULL, *b = NULL;
    assert_int_equal(gw_status_store_message(one, ids[i], &a, &err), 0);
    assert_int_equal(gw_status_store_message(each, ids[i], &b, &err), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  char *a = NULL, *b = NULL;
  assert_int_equal(gw_status_store_shipment(one, "U7", NOW, &a, &err), 0);
  assert_int_equal(gw_status_store_shipment(each, "U7", NOW, &b, &err), 0);
  assert_string_equal(a, b);
  /* And what it says: the last stage's number and cite, the HS codes and the
   * decision of later stages. */
  json_t *o = json_loads(b, 0, NULL);
  assert_non_null(o);
  assert_string_equal(sget(o, "status"), "RELEASED");
  assert_true(json_is_true(json_object_get(o, "perishable")));
  assert_true(any_contains(json_object_get(o, "documents"), "number", "LRN-7b"));
  assert_true(any_contains(json_object_get(o, "missing"), "number", "CO-7"));
  assert_true(any_contains(json_object_get(o, "required"), "why", "HS 081060"));
  json_decref(o);
  free(a);
  free(b);
  for (size_t i = 0; i < n; i++) {
    gw_status_event_free(&evs[i]);
    free(w[i]);
  }
  free(evs);
  gw_status_store_close(one);
  gw_status_store_close(each);
}

static void two_connections_one_file(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("status");
  char path[512];
  snprintf(path, sizeof(path), "%s/status.db", dir);
  gw_status_store *wr = NULL, *rd = NULL;
  gw_error err = {0};
  assert_int_equal(gw_status_store_open(&wr, path, &err), 0);
  assert_int_equal(gw_status_store_open(&rd, path, &err), 0);
  size_t n;
  char **w = world(&n);
  gw_status_event *evs = parse_all(w, n);
  /* The reader sees nothing of an open transaction, then all of it. */
  assert_int_equal(gw_status_store_begin(wr, &err), 0);
  for (size_t i = 0; i < n; i++) assert_int_equal(gw_status_store_apply(wr, &evs[i], &err), 0);
  assert_int_equal(gw_status_store_offset_set(wr, "lmcgw.status", 0, (int64_t)n, &err), 0);
  char *j = NULL;
  assert_int_equal(gw_status_store_shipment(rd, "U1", NOW, &j, &err), GW_ENOTFOUND);
  int64_t off;
  assert_int_equal(gw_status_store_offset_get(rd, "lmcgw.status", 0, &off, &err), 0);
  assert_int_equal(off, -1);
  assert_int_equal(gw_status_store_commit(wr, &err), 0);
  char *from_reader = answers(rd), *from_writer = answers(wr);
  assert_string_equal(from_reader, from_writer);
  assert_int_equal(gw_status_store_offset_get(rd, "lmcgw.status", 0, &off, &err), 0);
  assert_int_equal(off, (int64_t)n);
  /* Restart: the file keeps events and offset. */
  gw_status_store_close(wr);
  assert_int_equal(gw_status_store_open(&wr, path, &err), 0);
  assert_int_equal(gw_status_store_offset_get(wr, "lmcgw.status", 0, &off, &err), 0);
  assert_int_equal(off, (int64_t)n);
  char *reopened = answers(wr);
  assert_string_equal(reopened, from_writer);
  free(reopened);
  free(from_reader);
  free(from_writer);
  gw_status_store_close(wr);
  gw_status_store_close(rd);

  /* Schema versions: a newer one is refused, an older one emptied. */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(gw_status_store_open(&wr, path, &err), GW_ECONFIG);
  assert_non_null(strstr(err.msg, "newer"));
  assert_null(wr);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 0", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(gw_status_store_open(&wr, path, &err), 0);
  assert_int_equal(gw_status_store_offset_get(wr, "lmcgw.status", 0, &off, &err), 0);
  assert_int_equal(off, -1);
  assert_int_equal(gw_status_store_shipment(wr, "U1", NOW, &j, &err), GW_ENOTFOUND);
  gw_status_store_close(wr);

  for (size_t i = 0; i < n; i++) gw_status_event_free(&evs[i]);
  free(evs);
  free_world(w, n);
  tu_rmrf(dir);
  free(dir);
}

/* The lead's layout: the consumer thread writes on one connection while an
 * HTTP thread reads on another, at the same time. Neither may fail (no
 * SQLITE_BUSY surfacing), and the reader ends up seeing everything. */
typedef struct rw_ctx {
  const char *path;
  gw_status_event *evs;
  size_t n;
  volatile int done;
  int errors;
  long reads;
} rw_ctx;

static void *writer_thread(void *arg) {
  rw_ctx *c = arg;
  gw_status_store *s = NULL;
  gw_error err = {0};
  if (gw_status_store_open(&s, c->path, &err)) {
    c->errors++;
    c->done = 1;
    return NULL;
  }
  for (size_t i = 0; i < c->n; i += 50) {
    size_t k = c->n - i < 50 ? c->n - i : 50;
    if (gw_status_store_apply_batch(s, c->evs + i, k, "t", 0, (int64_t)(i + k), &err)) {
      fprintf(stderr, "writer: %s\n", err.msg);
      c->errors++;
    }
  }
  gw_status_store_close(s);
  __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void concurrent_writer_and_reader(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("status-rw");
  char path[512];
  snprintf(path, sizeof(path), "%s/status.db", dir);
  gw_error err = {0};
  gw_status_store *rd = NULL;
  assert_int_equal(gw_status_store_open(&rd, path, &err), 0);
  static const char *const stages[] = {"RECEIVED", "VALIDATED", "SIGNED", "ROUTED"};
  rw_ctx c = {.path = path, .n = 300 * 4};
  c.evs = calloc(c.n, sizeof(*c.evs));
  char mid[32], ucr[32];
  for (size_t i = 0; i < c.n; i++) {
    snprintf(mid, sizeof(mid), "m%zu", i / 4);
    snprintf(ucr, sizeof(ucr), "U%03zu", i / 4);
    char *j = mk(mid, ucr, (int)(i % 3000), stages[i % 4], "declaration", mid, "\"hs_codes\":[\"8471\"]");
    assert_int_equal(gw_status_event_parse(j, strlen(j), &c.evs[i], &err), 0);
    free(j);
  }
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, writer_thread, &c), 0);
  for (;;) {
    int finished = __atomic_load_n(&c.done, __ATOMIC_SEQ_CST);
    char *j = NULL;
    gw_status_filter f = {.perishable = -1, .limit = 20};
    if (gw_status_store_list(rd, &f, &j, &err)) {
      fprintf(stderr, "reader: %s\n", err.msg);
      c.errors++;
    }
    free(j);
    j = NULL;
    int rc = gw_status_store_shipment(rd, "U000", NOW, &j, &err);
    if (rc && rc != GW_ENOTFOUND) {
      fprintf(stderr, "reader: %s\n", err.msg);
      c.errors++;
    }
    free(j);
    c.reads++;
    if (finished) break;
  }
  pthread_join(th, NULL);
  assert_int_equal(c.errors, 0);
  assert_true(c.reads > 0);
  gw_status_filter f = {.perishable = -1, .limit = 500, .status = "READY_FOR_CLEARANCE"};
  assert_int_equal(count(rd, f), 300);
  int64_t off;
  assert_int_equal(gw_status_store_offset_get(rd, "t", 0, &off, &err), 0);
  assert_int_equal(off, (int64_t)c.n);
  gw_status_store_close(rd);
  for (size_t i = 0; i < c.n; i++) gw_status_event_free(&c.evs[i]);
  free(c.evs);
  tu_rmrf(dir);
  free(dir);
}

/* Measures, does not assert: events/s applied in batches of 500 (a poll's
 * worth) to a file store, 5 events per message, 2 messages per shipment. */
static void apply_rate(void **state) {
  (void)state;
  enum { SHIPMENTS = 2000, BATCH = 500 };
  static const char *const stages[] = {"RECEIVED", "VALIDATED", "SIGNED", "ROUTED", "DELIVERED"};
  size_t n = SHIPMENTS * 2 * 5;
  gw_status_event *evs = calloc(n, sizeof(*evs));
  gw_error err = {0};
  size_t k = 0;
  char mid[32], ucr[32], num[32];
  for (int sh = 0; sh < SHIPMENTS; sh++)
    for (int d = 0; d < 2; d++)
      for (int st = 0; st < 5; st++) {
        snprintf(mid, sizeof(mid), "m%d-%d", sh, d);
        snprintf(ucr, sizeof(ucr), "U%05d", sh);
        snprintf(num, sizeof(num), "N%d-%d", sh, d);
        char *j = mk(mid, ucr, (sh % 50) + st, stages[st], d ? "sps_certificate" : "declaration", num,
                     d ? DURIAN : DURIAN ",\"cites\":[{\"type\":\"851\",\"number\":\"X\"}]");
        assert_int_equal(gw_status_event_parse(j, strlen(j), &evs[k++], &err), 0);
        free(j);
      }
  char *dir = tu_mkdtemp("status-rate");
  char path[512];
  snprintf(path, sizeof(path), "%s/status.db", dir);
  gw_status_store *s = NULL;
  assert_int_equal(gw_status_store_open(&s, path, &err), 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < n; i += BATCH)
    assert_int_equal(gw_status_store_apply_batch(s, evs + i, n - i < BATCH ? n - i : BATCH, "t", 0, (int64_t)(i + BATCH), &err), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("status store: %zu events (%d shipments) applied in batches of %d in %.2f s: %.0f events/s\n", n, SHIPMENTS,
         BATCH, secs, (double)n / secs);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < 1000; i++) assert_int_equal(gw_status_store_apply(s, &evs[i], &err), 0); /* duplicates */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("status store: 1000 duplicate events one transaction each: %.0f events/s\n", 1000 / secs);
  assert_status(s, "U00007", "IN_PROGRESS"); /* cites X, never received */
  gw_status_store_close(s);
  for (size_t i = 0; i < n; i++) gw_status_event_free(&evs[i]);
  free(evs);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(event_round_trip),
      cmocka_unit_test(event_strings_escaped),
      cmocka_unit_test(event_errors),
      cmocka_unit_test(hs_rules),
      cmocka_unit_test(durian_alone_then_sps),
      cmocka_unit_test(sps_cited_with_other_ucr),
      cmocka_unit_test(rejected_declaration),
      cmocka_unit_test(preference_needs_co),
      cmocka_unit_test(customs_decisions),
      cmocka_unit_test(non_perishable_no_sps),
      cmocka_unit_test(idempotent_and_order_free),
      cmocka_unit_test(reset_and_rebuild),
      cmocka_unit_test(list_filters_paging_scopes),
      cmocka_unit_test(read_targets),
      cmocka_unit_test(batches_and_offsets),
      cmocka_unit_test(batch_repeat_keeps_stored),
      cmocka_unit_test(later_stages_fold_onto_the_row),
      cmocka_unit_test(two_connections_one_file),
      cmocka_unit_test(concurrent_writer_and_reader),
      cmocka_unit_test(apply_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
