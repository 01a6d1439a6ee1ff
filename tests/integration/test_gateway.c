/* End-to-end tests of `lmcgw serve` against a real Apache Kafka broker
 * (started by the CTest fixture, or by the test itself for the outage test),
 * over real HTTPS with client certificates. One test per process:
 *   test_gateway roundtrip | formats | access | hostile | signatures | ingest | ui | exchange | outage | shutdown | dev
 * Environment: LMCGW_BIN, LMCGW_TEST_PKI (scripts/test-pki.sh output),
 * LMCGW_TEST_KAFKA_DIR (fixture broker dir with a bootstrap file),
 * LMCGW_TEST_KAFKA_SH (scripts/kafka.sh, for the outage test). */
#include <jansson.h>
#include <openssl/evp.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "endpoint.h"
#include "proc.h"
#include "testutil.h"

static int failures;
#define CHECK(cond, ...)                                                                                               \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      failures++;                                                                                                      \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                                  \
      fprintf(stderr, __VA_ARGS__);                                                                                    \
      fputc('\n', stderr);                                                                                             \
    }                                                                                                                  \
  } while (0)
/* Evaluates cond once: it often is the request itself. */
#define REQUIRE(cond, ...)                                                                                             \
  do {                                                                                                                 \
    int ok_ = !!(cond);                                                                                                \
    CHECK(ok_, __VA_ARGS__);                                                                                           \
    if (!ok_) return 1;                                                                                                \
  } while (0)

static const char *bin, *pki;
/* One certificate per role (scripts/test-pki.sh). */
static char role_cert[6][512], role_key[6][512];
enum { R_TRADER, R_CUSTOMS, R_VN_CUSTOMS, R_INSPECTOR, R_ADMIN, R_NOROLE };
static char ca[512], server_cert[512], server_key[512], client_cert[512], client_key[512], stranger_cert[512],
    stranger_key[512], signer_cert[512], signer_key[512];

static const char *env_or_die(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr, "environment variable %s is required\n", name);
    exit(2);
  }
  return v;
}

static void pki_paths(void) {
  pki = env_or_die("LMCGW_TEST_PKI");
  snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
  snprintf(server_cert, sizeof(server_cert), "%s/server.pem", pki);
  snprintf(server_key, sizeof(server_key), "%s/server.key", pki);
  snprintf(client_cert, sizeof(client_cert), "%s/client.pem", pki);
  snprintf(client_key, sizeof(client_key), "%s/client.key", pki);
  snprintf(stranger_cert, sizeof(stranger_cert), "%s/stranger.pem", pki);
  snprintf(stranger_key, sizeof(stranger_key), "%s/stranger.key", pki);
  snprintf(signer_cert, sizeof(signer_cert), "%s/signer.pem", pki);
  snprintf(signer_key, sizeof(signer_key), "%s/signer.key", pki);
  static const char *const names[6] = {"client", "customs", "vn-customs", "inspector", "admin", "norole"};
  for (int i = 0; i < 6; i++) {
    snprintf(role_cert[i], sizeof(role_cert[i]), "%s/%s.pem", pki, names[i]);
    snprintf(role_key[i], sizeof(role_key[i]), "%s/%s.key", pki, names[i]);
  }
}

/* The fixture broker's address (LMCGW_TEST_KAFKA_DIR/bootstrap); 0 or -1. */
static int fixture_bootstrap(char *out, size_t cap) {
  char bsfile[512];
  snprintf(bsfile, sizeof(bsfile), "%s/bootstrap", env_or_die("LMCGW_TEST_KAFKA_DIR"));
  return tp_read_line(bsfile, out, cap) ? 0 : -1;
}

/* A fresh folder for one test, a topic prefix of its own (tests share the
 * broker) and the gateway log's path in it. The folder is malloc'd. */
static char *test_dir(const char *name, const char *prefix_stem, char prefix[64], char log[600]) {
  char *dir = tu_mkdtemp(name);
  snprintf(prefix, 64, "%s%d%lld", prefix_stem, getpid(), tp_now_ms() % 100000);
  snprintf(log, 600, "%s/gateway.log", dir);
  return dir;
}

/* Stops the gateway (it must exit 0 on SIGTERM), removes the test's folder
 * when all went well, and gives the test's exit status. Frees cfg and dir. */
static int test_end(pid_t pid, char *cfg, char *dir) {
  int st = tp_stop(pid, SIGTERM, 15000);
  CHECK(st == 0, "graceful exit status %d", st);
  free(cfg);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* A gateway configuration for these tests: TLS with mandatory client
 * certificates, the project's schemas, its own topic prefix. */
static char *write_config_extra(const char *dir, const char *bootstrap, const char *prefix,
                                unsigned produce_timeout_ms, const char *extra);
static char *write_config(const char *dir, const char *bootstrap, const char *prefix, unsigned produce_timeout_ms) {
  return write_config_extra(dir, bootstrap, prefix, produce_timeout_ms, "");
}

/* extra: more YAML sections appended as they are. */
static char *write_config_extra(const char *dir, const char *bootstrap, const char *prefix,
                                unsigned produce_timeout_ms, const char *extra) {
  char text[8192];
  snprintf(text, sizeof(text),
           "gateway:\n  country: TH\n  instance_id: it-%s\n  state_dir: %s/state\n  log_level: info\n"
           "http:\n  listen: 127.0.0.1:1\n  max_body: 256KiB\n"
           "tls:\n  cert: %s\n  key: %s\n  client_ca: %s\n"
           "signing:\n  key: %s\n  cert: %s\n"
           "pipeline:\n  workers: 2\n  produce_timeout_ms: %u\n  retry_after_s: 2\n"
           "routing:\n  topic_prefix: %s\n"
           "kafka:\n  bootstrap.servers: %s\n  reconnect.backoff.max.ms: 500\n  topic.metadata.refresh.interval.ms: 1000\n"
           "schemas:\n"
           "  - {root: MetaData, namespace: 'urn:wco:datamodel:WCO:DocumentMetaData-DMS:2',\n"
           "     xsd: %s/schemas/wco/lmcgw-dec-dms-2.xsd}\n"
           "countries:\n"
           "  VN: {receives: {declaration: wco-dec}, trust_store: %s/trust/VN}\n"
           "  TH: {trust_store: %s/trust/TH}\n%s",
           prefix, dir, server_cert, server_key, ca, signer_key, signer_cert, produce_timeout_ms, prefix, bootstrap,
           LMCGW_SOURCE_DIR, pki, pki, extra);
  return tu_write(dir, "lmcgw.yaml", text);
}

static pid_t start_gateway(const char *config, int port, const char *log) {
  char listen[64], *argv[8];
  snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
  argv[0] = (char *)bin;
  argv[1] = "serve";
  argv[2] = "--config";
  argv[3] = (char *)config;
  argv[4] = "--listen";
  argv[5] = listen;
  argv[6] = NULL;
  pid_t pid = tp_spawn(argv, log);
  /* Short waits, so a gateway that refused its config fails the test at once. */
  int up = 0;
  for (int i = 0; i < 80 && !up && tp_alive(pid); i++) up = !tp_wait_healthy(port, ca, client_cert, client_key, 250);
  if (!up) {
    fprintf(stderr, "gateway did not come up; log %s:\n", log);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", log);
    if (system(cmd)) {
    }
    tp_stop(pid, SIGKILL, 1000);
    return -1;
  }
  return pid;
}

static char *example(const char *rel, size_t *len) {
  char p[1024];
  snprintf(p, sizeof(p), "%s/examples/%s", LMCGW_SOURCE_DIR, rel);
  char *b = tu_read(p, len);
  if (!b) {
    fprintf(stderr, "cannot read %s\n", p);
    exit(2);
  }
  return b;
}

static int post(int port, const char *cert, const char *key, const char *ctype, const char *body, size_t len,
                const char *extra, tc_response *r) {
  tc_tls tls = {ca, cert, key};
  return tc_request(port, &tls, "POST", "/v1/messages", ctype, body, len, extra, r);
}

/* ---- Kafka consumer ---------------------------------------------------- */

typedef struct record {
  char *id;
  char *format; /* lmcgw-format header */
  char *jws;    /* lmcgw-jws header, for non-XML payloads */
  char *warnings;
  char *signature; /* lmcgw-signature header: the sender's verified signature */
  char *value;
  size_t len;
  int32_t partition;
  int64_t offset;
  char key[160];
} record;

/* Reads every record of topic from the beginning to its end (all partitions
 * assigned directly: no group, so no rebalance can replay records). Waits up
 * to wait_ms for the topic to exist. Returns the count; *out is malloc'd. */
static size_t consume_all(const char *bootstrap, const char *topic, int wait_ms, record **out) {
  char es[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, es, sizeof(es));
  rd_kafka_conf_set(c, "group.id", "lmcgw-it-unused", es, sizeof(es));
  rd_kafka_conf_set(c, "enable.partition.eof", "true", es, sizeof(es));
  rd_kafka_conf_set(c, "enable.auto.commit", "false", es, sizeof(es));
  rd_kafka_conf_set(c, "isolation.level", "read_committed", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof(es));
  size_t n = 0, cap = 64;
  record *recs = calloc(cap, sizeof(*recs));
  *out = recs;
  int parts = 0;
  long long end = tp_now_ms() + wait_ms;
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  while (tp_now_ms() < end) {
    const struct rd_kafka_metadata *md = NULL;
    if (!rd_kafka_metadata(rk, 0, t, &md, 2000) && md->topic_cnt == 1 && !md->topics[0].err)
      parts = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    if (parts > 0) break;
    usleep(200000);
  }
  rd_kafka_topic_destroy(t);
  if (parts <= 0) {
    rd_kafka_destroy(rk);
    return 0;
  }
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++)
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  int at_end = 0;
  end = tp_now_ms() + 30000;
  while (at_end < parts && tp_now_ms() < end) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) at_end++;
      rd_kafka_message_destroy(m);
      continue;
    }
    if (n == cap) *out = recs = realloc(recs, (cap *= 2) * sizeof(*recs));
    record *r = &recs[n++];
    memset(r, 0, sizeof(*r));
    r->value = malloc(m->len + 1);
    memcpy(r->value, m->payload, m->len);
    r->value[m->len] = 0;
    r->len = m->len;
    r->partition = m->partition;
    r->offset = m->offset;
    if (m->key_len < sizeof(r->key)) memcpy(r->key, m->key, m->key_len);
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t vl;
    if (!rd_kafka_message_headers(m, &h) && !rd_kafka_header_get_last(h, "lmcgw-message-id", &v, &vl))
      r->id = strndup(v, vl);
    if (h && !rd_kafka_header_get_last(h, "lmcgw-format", &v, &vl)) r->format = strndup(v, vl);
    if (h && !rd_kafka_header_get_last(h, "lmcgw-jws", &v, &vl)) r->jws = strndup(v, vl);
    if (h && !rd_kafka_header_get_last(h, "lmcgw-warnings", &v, &vl)) r->warnings = strndup(v, vl);
    if (h && !rd_kafka_header_get_last(h, "lmcgw-signature", &v, &vl)) r->signature = strndup(v, vl);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_destroy(rk);
  return n;
}

static void records_free(record *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].id);
    free(r[i].format);
    free(r[i].jws);
    free(r[i].warnings);
    free(r[i].signature);
    free(r[i].value);
  }
  free(r);
}

static const char *json_str(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- tests ------------------------------------------------------------- */

static int test_roundtrip(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-roundtrip", "it", prefix, log);
  char *cfg = write_config(dir, bootstrap, prefix, 10000);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");

  /* A valid declaration over mutual TLS: 202 once Kafka has it. */
  size_t len;
  char *decl = example("declarations/th-vn-durian-export.xml", &len);
  tc_response r;
  REQUIRE(!post(port, client_cert, client_key, "application/xml", decl, len, NULL, &r), "post: %s", r.error);
  CHECK(r.status == 202, "status %d body %s", r.status, r.body);
  json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
  REQUIRE(j, "202 body is JSON: %s", r.body);
  char id[64] = "", topic[200] = "";
  snprintf(id, sizeof(id), "%s", json_str(j, "id") ? json_str(j, "id") : "");
  snprintf(topic, sizeof(topic), "%s", json_str(j, "topic") ? json_str(j, "topic") : "");
  CHECK(json_str(j, "ucr") && !strcmp(json_str(j, "ucr"), "6TH0105536000123-DUR0001"), "ucr in %s", r.body);
  char want_topic[200];
  /* Durian (HS 08) is perishable: the priority lane. */
  snprintf(want_topic, sizeof(want_topic), "%s.VN.declaration.priority", prefix);
  CHECK(!strcmp(topic, want_topic), "topic %s, want %s", topic, want_topic);
  CHECK(json_is_integer(json_object_get(j, "partition")) && json_is_integer(json_object_get(j, "offset")),
        "partition and offset in %s", r.body);
  int32_t part = (int32_t)json_integer_value(json_object_get(j, "partition"));
  int64_t off = json_integer_value(json_object_get(j, "offset"));
  json_decref(j);
  tc_response_free(&r);

  /* A second, different one, also accepted; distinct ids. */
  size_t len2;
  char *rice = example("declarations/kh-vn-rice.xml", &len2);
  REQUIRE(!post(port, client_cert, client_key, "application/xml; charset=utf-8", rice, len2, NULL, &r), "%s", r.error);
  CHECK(r.status == 202, "rice: %d %s", r.status, r.body);
  tc_response_free(&r);

  /* Rejections: 400, 422 (schema and no UCR), 415, 413, each with errors[]. */
  struct {
    const char *file, *ctype, *code;
    int status;
  } bad[] = {
      {"invalid/not-well-formed.xml", "application/xml", "not_well_formed", 400},
      {"invalid/xxe.xml", "application/xml", "dtd_forbidden", 400},
      {"invalid/schema-invalid.xml", "application/xml", "schema_invalid", 422},
      {"invalid/no-ucr.xml", "application/xml", "ucr_missing", 422},
      {"declarations/th-vn-durian-export.xml", "application/pdf", "unsupported_media_type", 415},
      /* Named JSON, it is read as JSON: not well-formed. */
      {"declarations/th-vn-durian-export.xml", "application/json", "json_malformed", 400},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t bl;
    char *b = example(bad[i].file, &bl);
    REQUIRE(!post(port, client_cert, client_key, bad[i].ctype, b, bl, NULL, &r), "%s", r.error);
    CHECK(r.status == bad[i].status, "%s: status %d, want %d", bad[i].file, r.status, bad[i].status);
    json_t *e = json_loads(r.body ? r.body : "", 0, NULL);
    json_t *first = e ? json_array_get(json_object_get(e, "errors"), 0) : NULL;
    CHECK(first && json_str(first, "code") && !strcmp(json_str(first, "code"), bad[i].code) &&
              json_str(first, "message") && json_object_get(first, "line") && json_object_get(first, "path"),
          "%s: errors[0] %s", bad[i].file, r.body);
    if (bad[i].status == 422 && !strcmp(bad[i].code, "schema_invalid"))
      CHECK(first && json_integer_value(json_object_get(first, "line")) > 0, "schema error has a line: %s", r.body);
    CHECK(!strstr(r.body ? r.body : "", "root:"), "no file content leaks: %s", r.body);
    json_decref(e);
    tc_response_free(&r);
    free(b);
  }
  /* Over the configured 256 KiB: 413 from the Content-Length alone. */
  size_t big_len = 300 * 1024;
  char *big = malloc(big_len);
  memset(big, ' ', big_len);
  REQUIRE(!post(port, client_cert, client_key, "application/xml", big, big_len, NULL, &r), "%s", r.error);
  CHECK(r.status == 413, "big: %d", r.status);
  tc_response_free(&r);
  free(big);

  /* A client certificate from another CA, or none, does not get in. */
  CHECK(post(port, stranger_cert, stranger_key, "application/xml", decl, len, NULL, &r) || r.status == 0,
        "stranger got %d", r.status);
  tc_response_free(&r);
  CHECK(post(port, NULL, NULL, "application/xml", decl, len, NULL, &r) || r.status == 0, "no cert got %d", r.status);
  tc_response_free(&r);

  /* Health, readiness, metrics. */
  tc_tls tls = {ca, client_cert, client_key};
  REQUIRE(!tc_request(port, &tls, "GET", "/readyz", NULL, NULL, 0, NULL, &r), "%s", r.error);
  CHECK(r.status == 200 && strstr(r.body, "\"kafka\":true"), "readyz %d %s", r.status, r.body);
  tc_response_free(&r);
  REQUIRE(!tc_request(port, &tls, "GET", "/metrics", NULL, NULL, 0, NULL, &r), "%s", r.error);
  CHECK(r.status == 200 && strstr(r.body, "lmcgw_messages_total{outcome=\"accepted\"} 2\n"), "metrics accepted: %s", r.body);
  CHECK(strstr(r.body, "lmcgw_http_responses_total{code=\"422\"} 2\n"), "metrics 422");
  CHECK(strstr(r.body, "lmcgw_stage_duration_seconds_count{stage=\"sign\"} 2\n"), "metrics sign stage");
  tc_response_free(&r);

  /* Exactly once in the routing topic, at the offset we were told, signed. */
  record *recs;
  size_t n = consume_all(bootstrap, want_topic, 3000, &recs);
  int seen = 0, rice_seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (recs[i].id && !strcmp(recs[i].id, id)) {
      seen++;
      CHECK(recs[i].partition == part && recs[i].offset == off, "at [%d]@%lld, answer said [%d]@%lld",
            recs[i].partition, (long long)recs[i].offset, part, (long long)off);
      CHECK(!strcmp(recs[i].key, "6TH0105536000123-DUR0001"), "key is the UCR: %s", recs[i].key);
      char *signed_path = tu_write(dir, "signed.xml", recs[i].value);
      char cmd[2048];
      snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --trusted-pem '%s' '%s' >>'%s' 2>&1", ca, signed_path, log);
      CHECK(system(cmd) == 0, "xmlsec1 verifies the gateway's signature (see %s)", log);
      snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet --schema '%s/schemas/wco/lmcgw-dec-dms-2.xsd' '%s' 2>>'%s'",
               LMCGW_SOURCE_DIR, signed_path, log);
      CHECK(system(cmd) == 0, "signed output still valid against the schema");
      CHECK(strstr(recs[i].value, "<ds:Signature") || strstr(recs[i].value, "<Signature"), "has a signature");
      free(signed_path);
    } else {
      rice_seen++;
    }
  }
  CHECK(seen == 1, "the durian declaration is in %s %d times (want exactly once)", want_topic, seen);
  CHECK(rice_seen == 1 && n == 2, "topic has %zu records (want 2: no rejected message routed)", n);
  records_free(recs, n);
  /* Rejected messages are on record in the dead-letter topic. */
  char dlq[200];
  snprintf(dlq, sizeof(dlq), "%s.dlq", prefix);
  /* The reject is answered before its dead-letter record is acknowledged
   * (the client does not wait on it), so read until all five have landed. */
  for (long long until = tp_now_ms() + 15000;;) {
    n = consume_all(bootstrap, dlq, 2000, &recs);
    if (n >= 5 || tp_now_ms() > until) break;
    records_free(recs, n);
    usleep(300000);
  }
  CHECK(n == 5, "dead-letter topic has %zu records, want 5 (400 x3, 422 x2)", n);
  records_free(recs, n);

  int st = tp_stop(pid, SIGTERM, 15000);
  CHECK(st == 0, "graceful exit status %d", st);
  free(decl);
  free(rice);
  free(cfg);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* ---- broker outage ------------------------------------------------------ */

typedef struct sent {
  char id[64];
  int status;
  long long t_sent, t_answered;
} sent;

static int kafka_sh(const char *verb, const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "'%s' %s '%s' >>'%s-sh.log' 2>&1", env_or_die("LMCGW_TEST_KAFKA_SH"), verb, dir, dir);
  return system(cmd);
}

static int post_one(int port, const char *body, size_t len, sent *s) {
  tc_response r;
  s->t_sent = tp_now_ms();
  int rc = post(port, client_cert, client_key, "application/xml", body, len, NULL, &r);
  s->t_answered = tp_now_ms();
  s->status = rc ? 0 : r.status;
  if (s->status == 202) {
    json_t *j = json_loads(r.body, 0, NULL);
    const char *id = j ? json_str(j, "id") : NULL;
    snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
    json_decref(j);
  }
  char ra[32];
  if (s->status == 503 && !tc_header(&r, "retry-after", ra, sizeof(ra))) s->status = -503; /* no Retry-After */
  tc_response_free(&r);
  return rc;
}

static int test_outage(void) {
  char *dir = tu_mkdtemp("it-outage"), kdir[600], bootstrap[256], bsfile[700], log[600];
  snprintf(kdir, sizeof(kdir), "%s/kafka", dir);
  snprintf(log, sizeof(log), "%s/gateway.log", dir);
  REQUIRE(kafka_sh("start", kdir) == 0, "own broker starts (see %s-sh.log)", kdir);
  snprintf(bsfile, sizeof(bsfile), "%s/bootstrap", kdir);
  REQUIRE(tp_read_line(bsfile, bootstrap, sizeof(bootstrap)), "bootstrap");
  char *cfg = write_config(dir, bootstrap, "outage", 3000);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  size_t len;
  char *decl = example("declarations/th-vn-durian-export.xml", &len);
  enum { N = 400 };
  sent *s = calloc(N, sizeof(*s));
  size_t k = 0;
  /* Phase 1: broker up. */
  for (int i = 0; i < 20; i++) post_one(port, decl, len, &s[k++]);
  /* Phase 2: broker down; every answer must be 503 with Retry-After. */
  REQUIRE(kafka_sh("stop", kdir) == 0, "broker stops");
  long long down_from = tp_now_ms();
  size_t first_down = k;
  for (int i = 0; i < 6; i++) post_one(port, decl, len, &s[k++]);
  size_t last_down = k;
  long long down_until = tp_now_ms();
  /* Phase 3: broker back; the gateway recovers by itself. */
  REQUIRE(kafka_sh("start", kdir) == 0, "broker restarts");
  long long back = tp_now_ms();
  int ok_after = 0;
  while (tp_now_ms() - back < 60000 && k < N && ok_after < 20) {
    post_one(port, decl, len, &s[k]);
    if (s[k].status == 202) ok_after++;
    k++;
  }
  CHECK(ok_after == 20, "20 accepted after the broker came back (got %d in %zu tries)", ok_after, k - last_down);
  int accepted = 0, unavailable = 0;
  for (size_t i = 0; i < k; i++) {
    if (s[i].status == 202) accepted++;
    if (s[i].status == 503) unavailable++;
    CHECK(s[i].status != -503, "503 without Retry-After (request %zu)", i);
    CHECK(s[i].status == 202 || s[i].status == 503 || s[i].status == -503, "request %zu: status %d", i, s[i].status);
  }
  for (size_t i = first_down; i < last_down; i++)
    CHECK(s[i].status == 503 && s[i].t_sent >= down_from && s[i].t_answered <= down_until,
          "while the broker was down request %zu got %d (want 503, never 202)", i, s[i].status);
  /* Every 202 is in the topic, exactly once. */
  record *recs;
  size_t n = consume_all(bootstrap, "outage.VN.declaration.priority", 4000, &recs);
  int missing = 0, dup = 0;
  for (size_t i = 0; i < k; i++) {
    if (s[i].status != 202) continue;
    int c = 0;
    for (size_t x = 0; x < n; x++)
      if (recs[x].id && !strcmp(recs[x].id, s[i].id)) c++;
    if (c == 0) missing++;
    if (c > 1) dup++;
  }
  CHECK(missing == 0, "%d accepted message(s) missing from the topic", missing);
  CHECK(dup == 0, "%d accepted message(s) duplicated", dup);
  fprintf(stderr, "outage: %zu requests, %d accepted, %d answered 503, %zu records in topic\n", k, accepted,
          unavailable, n);
  records_free(recs, n);
  CHECK(tp_stop(pid, SIGTERM, 20000) == 0, "graceful exit");
  kafka_sh("stop", kdir);
  free(s);
  free(decl);
  free(cfg);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* ---- graceful shutdown with requests in flight --------------------------- */

typedef struct poster {
  int port;
  const char *body;
  size_t len;
  int status;
  pthread_t t;
} poster;

static void *poster_main(void *arg) {
  poster *p = arg;
  sent s;
  post_one(p->port, p->body, p->len, &s);
  p->status = s.status;
  return NULL;
}

static int test_shutdown(void) {
  char bootstrap[256], bsfile[512];
  snprintf(bsfile, sizeof(bsfile), "%s/bootstrap", env_or_die("LMCGW_TEST_KAFKA_DIR"));
  REQUIRE(tp_read_line(bsfile, bootstrap, sizeof(bootstrap)), "bootstrap");
  char *dir = tu_mkdtemp("it-shutdown"), log[600];
  snprintf(log, sizeof(log), "%s/gateway.log", dir);
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "sd%d", getpid());
  char *cfg = write_config(dir, bootstrap, prefix, 10000);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  size_t len;
  char *decl = example("declarations/la-cn-coffee.xml", &len);
  enum { P = 16 };
  poster ps[P];
  for (int i = 0; i < P; i++) {
    ps[i] = (poster){port, decl, len, 0, 0};
    pthread_create(&ps[i].t, NULL, poster_main, &ps[i]);
  }
  usleep(30000); /* let some requests be in flight */
  kill(pid, SIGTERM);
  int accepted = 0;
  for (int i = 0; i < P; i++) {
    pthread_join(ps[i].t, NULL);
    /* In flight when the signal came: answered 202; after: refused or not connected. */
    CHECK(ps[i].status == 202 || ps[i].status == 503 || ps[i].status == 0, "poster %d: %d", i, ps[i].status);
    if (ps[i].status == 202) accepted++;
  }
  int st = tp_stop(pid, 0, 20000);
  CHECK(st == 0, "exit status after SIGTERM: %d (want 0)", st);
  char topic[200];
  snprintf(topic, sizeof(topic), "%s.CN.declaration.priority", prefix); /* coffee, HS 09 */
  record *recs;
  size_t n = consume_all(bootstrap, topic, 2000, &recs);
  CHECK((int)n == accepted, "%zu records for %d accepted", n, accepted);
  fprintf(stderr, "shutdown: %d of %d accepted before the gateway stopped\n", accepted, P);
  records_free(recs, n);
  /* A second signal cuts it short: non-zero, at once. */
  pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway restart");
  kill(pid, SIGTERM);
  kill(pid, SIGTERM);
  st = tp_stop(pid, 0, 5000);
  CHECK(st != -1, "second signal exits promptly");
  free(decl);
  free(cfg);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* ---- embedded defaults -------------------------------------------------- */

static int test_dev(void) {
  char *dir = tu_mkdtemp("it-dev"), log[600], state[600], listen[64];
  snprintf(log, sizeof(log), "%s/gateway.log", dir);
  snprintf(state, sizeof(state), "%s/state", dir);
  int port = tp_free_port();
  snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
  char *argv[] = {(char *)bin, "serve", "--dev", "--state-dir", state, "--listen", listen, NULL};
  pid_t pid = tp_spawn(argv, log);
  REQUIRE(!tp_wait_healthy(port, NULL, NULL, NULL, 20000), "dev gateway comes up (log %s)", log);
  const char *files[] = {"declarations/th-vn-durian-export.xml", "declarations/kh-vn-rice.xml",
                         "declarations/la-cn-coffee.xml", "declarations/mm-th-mungbean-bare.xml"};
  for (size_t i = 0; i < 4; i++) {
    size_t len;
    char *b = example(files[i], &len);
    tc_response r;
    REQUIRE(!tc_request(port, NULL, "POST", "/v1/messages", "application/xml", b, len, NULL, &r), "%s", r.error);
    CHECK(r.status == 202, "%s: %d %s", files[i], r.status, r.body);
    tc_response_free(&r);
    free(b);
  }
  char key[700];
  snprintf(key, sizeof(key), "%s/dev-signing.key", state);
  CHECK(access(key, R_OK) == 0, "dev signing key created in the state dir");
  CHECK(tp_stop(pid, SIGINT, 15000) == 0, "graceful exit on SIGINT");
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* Every format in, each translated into what the destination receives
 * (countries in the test config: VN gets WCO XML, the built-in defaults for
 * the rest): the record has the destination's format, an XML one carries a
 * signature xmlsec1 verifies, another a detached JWS; lossy fields are
 * reported in the answer. */
static record *find_record(record *recs, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (recs[i].id && !strcmp(recs[i].id, id)) return &recs[i];
  return NULL;
}

static int test_formats(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-formats", "fm", prefix, log);
  char *cfg = write_config(dir, bootstrap, prefix, 10000);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  static const struct {
    const char *file, *ctype, *dest, *kind, *in_format, *out_format, *extra;
  } cases[] = {
      /* portal JSON (TH -> CN): CN receives WCO XML */
      {"declarations/th-cn-longan.json", "application/json", "CN", "declaration", "json", "wco-dec", NULL},
      /* EDIFACT from Myanmar (MM -> TH), sniffed from text/plain: TH receives WCO XML */
      {"declarations/cusdec-mm-mungbean-export-th.edi", "text/plain", "TH", "declaration", "cusdec", "wco-dec", NULL},
      /* WCO XML for Myanmar, whose systems receive EDIFACT: CUSDEC with a JWS */
      {"declarations/mm-th-mungbean-bare.xml", "application/xml", "MM", "declaration", "wco-dec", "cusdec",
       "X-Destination: MM\r\n"},
      /* an SPS certificate (TH -> VN): VN receives it as it is, signed */
      {"sps/th-vn-durian-phyto.xml", "application/xml", "VN", "sps_certificate", "sps", "sps",
       "X-UCR: 6TH0105536000123-DUR0001\r\n"},
  };
  char ids[4][64], topics[4][200];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len;
    char *body = example(cases[i].file, &len);
    tc_response r;
    ids[i][0] = 0;
    topics[i][0] = 0;
    REQUIRE(!post(port, client_cert, client_key, cases[i].ctype, body, len, cases[i].extra, &r), "post: %s", r.error);
    CHECK(r.status == 202, "%s: status %d body %s", cases[i].file, r.status, r.body);
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    if (j) {
      snprintf(ids[i], sizeof(ids[i]), "%s", json_str(j, "id") ? json_str(j, "id") : "");
      snprintf(topics[i], sizeof(topics[i]), "%s", json_str(j, "topic") ? json_str(j, "topic") : "");
      CHECK(json_str(j, "destination") && !strcmp(json_str(j, "destination"), cases[i].dest), "%s: destination in %s",
            cases[i].file, r.body);
      CHECK(json_str(j, "source_format") && !strcmp(json_str(j, "source_format"), cases[i].in_format),
            "%s: source_format in %s", cases[i].file, r.body);
      CHECK(json_str(j, "format") && !strcmp(json_str(j, "format"), cases[i].out_format), "%s: format in %s",
            cases[i].file, r.body);
      /* A signed receipt that carries the digest of exactly what was sent. */
      const char *receipt = json_str(j, "receipt");
      CHECK(receipt != NULL, "%s: a receipt comes with the 202", cases[i].file);
      if (receipt) {
        unsigned char d[32];
        char hex[80] = "sha256:";
        EVP_Digest(body, len, d, NULL, EVP_sha256(), NULL);
        for (int k = 0; k < 32; k++) snprintf(hex + 7 + 2 * k, 3, "%02x", d[k]);
        CHECK(strstr(receipt, hex) != NULL, "%s: the receipt carries %s", cases[i].file, hex);
        char *rp = tu_write(dir, "receipt.xml", receipt), cmd[2048];
        snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --trusted-pem '%s' '%s' >>'%s' 2>&1 && '%s' validate --quiet '%s' >>'%s' 2>&1",
                 ca, rp, log, bin, rp, log);
        CHECK(system(cmd) == 0, "%s: the receipt verifies with xmlsec1 and validates (see %s)", cases[i].file, log);
        CHECK(strstr(receipt, strcmp(cases[i].kind, "sps_certificate") ? "RES-DMS:2" : "SPSAcknowledgement:17") != NULL,
              "%s: receipt kind", cases[i].file);
        free(rp);
      }
      if (strcmp(cases[i].in_format, cases[i].out_format) && strcmp(cases[i].in_format, "cusdec"))
        CHECK(json_object_get(j, "warnings") != NULL, "%s: a translation that loses fields says so: %s",
              cases[i].file, r.body);
      json_decref(j);
    }
    tc_response_free(&r);
    free(body);
  }
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char topic[200];
    /* Agricultural goods all: the priority lane. */
    snprintf(topic, sizeof(topic), "%s.%s.%s.priority", prefix, cases[i].dest, cases[i].kind);
    CHECK(!strcmp(topic, topics[i]), "%s: routed to %s, want %s", cases[i].file, topics[i], topic);
    record *recs;
    size_t n = consume_all(bootstrap, topic, 3000, &recs);
    record *rec = find_record(recs, n, ids[i]);
    CHECK(rec != NULL, "%s: no record with id %s in %s (%zu records)", cases[i].file, ids[i], topic, n);
    if (rec) {
      CHECK(rec->format && !strcmp(rec->format, cases[i].out_format), "%s: lmcgw-format %s", cases[i].file,
            rec->format ? rec->format : "(none)");
      if (!strcmp(cases[i].out_format, "cusdec")) {
        CHECK(!strncmp(rec->value, "UNA", 3) || !strncmp(rec->value, "UNB", 3), "%s: EDIFACT payload: %.40s",
              cases[i].file, rec->value);
        CHECK(rec->jws && strstr(rec->jws, ".."), "%s: a detached JWS travels with it", cases[i].file);
        /* What was routed is itself valid: the gateway's own validate accepts it. */
        char *edi = tu_write(dir, "routed.edi", rec->value), cmd[2048];
        snprintf(cmd, sizeof(cmd), "'%s' validate --quiet '%s' >>'%s' 2>&1", bin, edi, log);
        CHECK(system(cmd) == 0, "%s: the routed CUSDEC validates (see %s)", cases[i].file, log);
        free(edi);
      } else {
        char *xml = tu_write(dir, "routed.xml", rec->value), cmd[2048];
        snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --trusted-pem '%s' '%s' >>'%s' 2>&1", ca, xml, log);
        CHECK(system(cmd) == 0, "%s: xmlsec1 verifies the routed document (see %s)", cases[i].file, log);
        snprintf(cmd, sizeof(cmd), "'%s' validate --quiet '%s' >>'%s' 2>&1", bin, xml, log);
        CHECK(system(cmd) == 0, "%s: the routed document validates (see %s)", cases[i].file, log);
        free(xml);
      }
    }
    records_free(recs, n);
  }
  return test_end(pid, cfg, dir);
}

/* The code of the first error in an answer, "" when none. */
static void first_code(const tc_response *r, char *out, size_t cap) {
  out[0] = 0;
  json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
  json_t *e = j ? json_array_get(json_object_get(j, "errors"), 0) : NULL;
  if (e && json_str(e, "code")) snprintf(out, cap, "%s", json_str(e, "code"));
  json_decref(j);
}

/* Each role over real mutual TLS, the rate limit and replays. */
static int test_access(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-access", "ac", prefix, log);
  char *cfg = write_config_extra(dir, bootstrap, prefix, 10000, "access:\n  rate_limit: 1\n  burst: 8\n");
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  size_t dl, rl, al;
  char *durian = example("declarations/th-vn-durian-export.xml", &dl);
  char *rice = example("declarations/kh-vn-rice.xml", &rl);
  char *answer = example("responses/th-vn-durian-accepted.xml", &al);
  static const struct {
    int who;
    int doc; /* 0 durian (from TH), 1 rice (from KH), 2 a response */
    int status;
    const char *code;
  } cases[] = {
      {R_TRADER, 0, 202, ""},          {R_TRADER, 1, 202, ""},            {R_TRADER, 2, 403, "forbidden"},
      {R_CUSTOMS, 0, 202, ""},         {R_CUSTOMS, 1, 403, "forbidden"},  {R_CUSTOMS, 2, 202, ""},
      {R_VN_CUSTOMS, 2, 403, "forbidden"}, {R_INSPECTOR, 0, 403, "forbidden"}, {R_ADMIN, 0, 403, "forbidden"},
      {R_NOROLE, 0, 403, "forbidden"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *body = cases[i].doc == 0 ? durian : cases[i].doc == 1 ? rice : answer;
    size_t len = cases[i].doc == 0 ? dl : cases[i].doc == 1 ? rl : al;
    tc_response r;
    REQUIRE(!post(port, role_cert[cases[i].who], role_key[cases[i].who], "application/xml", body, len,
                  cases[i].doc == 2 ? "X-UCR: 6TH0105536000123-DUR0001\r\n" : NULL, &r),
            "case %zu: %s", i, r.error);
    char code[64];
    first_code(&r, code, sizeof(code));
    CHECK(r.status == cases[i].status && !strcmp(code, cases[i].code), "case %zu: %d %s, want %d %s: %s", i, r.status,
          code, cases[i].status, cases[i].code, r.body);
    tc_response_free(&r);
  }
  /* Replays: the same message id and body get the first answer; another body 409. */
  tc_response r1, r2, r3, r4;
  REQUIRE(!post(port, client_cert, client_key, "application/xml", durian, dl, "X-Message-Id: portal-000731\r\n", &r1),
          "%s", r1.error);
  REQUIRE(!post(port, client_cert, client_key, "application/xml", durian, dl, "X-Message-Id: portal-000731\r\n", &r2),
          "%s", r2.error);
  REQUIRE(!post(port, client_cert, client_key, "application/xml", rice, rl, "X-Message-Id: portal-000731\r\n", &r3),
          "%s", r3.error);
  REQUIRE(!post(port, client_cert, client_key, "application/xml", rice, rl, "X-Message-Id: not valid!\r\n", &r4),
          "%s", r4.error);
  CHECK(r1.status == 202, "first: %d %s", r1.status, r1.body);
  CHECK(r2.status == 202 && r1.body && r2.body && !strcmp(r1.body, r2.body), "replay gets the first answer: %s / %s",
        r1.body, r2.body);
  char code[64];
  first_code(&r3, code, sizeof(code));
  CHECK(r3.status == 409 && !strcmp(code, "replay_conflict"), "other body: %d %s", r3.status, r3.body);
  first_code(&r4, code, sizeof(code));
  CHECK(r4.status == 400 && !strcmp(code, "bad_message_id"), "bad id: %d %s", r4.status, r4.body);
  tc_response_free(&r1), tc_response_free(&r2), tc_response_free(&r3), tc_response_free(&r4);
  /* Rate: burst 8 then 1/s per identity; the VN customs system has used one. */
  int limited = 0, others_ok = 1;
  for (int i = 0; i < 12; i++) {
    tc_response r;
    REQUIRE(!post(port, role_cert[R_VN_CUSTOMS], role_key[R_VN_CUSTOMS], "application/xml", "<x/>", 4, NULL, &r), "%s",
            r.error);
    if (r.status == 429) {
      char ra[32];
      limited++;
      CHECK(tc_header(&r, "retry-after", ra, sizeof(ra)) && atoi(ra) >= 1, "429 has Retry-After: %s", r.headers);
    }
    tc_response_free(&r);
  }
  tc_response r5;
  REQUIRE(!post(port, client_cert, client_key, "application/xml", durian, dl, NULL, &r5), "%s", r5.error);
  others_ok = r5.status == 202;
  tc_response_free(&r5);
  CHECK(limited >= 3, "429 after the burst (%d of 12 limited)", limited);
  CHECK(others_ok, "another identity is not limited by it");
  int st = tp_stop(pid, SIGTERM, 15000);
  CHECK(st == 0, "graceful exit status %d", st);
  free(durian), free(rice), free(answer), free(cfg);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* ---- the hostile-input catalogue ---------------------------------------- */

typedef struct hostile {
  const char *name;
  const char *ctype;      /* NULL: raw request in body */
  char *body;             /* malloc'd */
  size_t len;
  const char *extra;      /* extra headers */
  int who;                /* certificate: a role, or -1 none, -2 another CA's */
  int status;             /* expected; 0: the TLS handshake is refused */
  const char *code;       /* expected first error code ("" when not checked) */
} hostile;

/* ---- signed documents, made with `lmcgw sign` and the test PKI ---------- */

static const char *sigdir; /* where signed variants are written */

/* examples/rel signed with the test PKI's certificate `who` (th-doc, ...). */
static char *signed_example(const char *rel, const char *who, size_t *len) {
  char in[1024], out[1024], cmd[4096];
  snprintf(in, sizeof(in), "%s/examples/%s", LMCGW_SOURCE_DIR, rel);
  snprintf(out, sizeof(out), "%s/%s-signed.xml", sigdir, who);
  snprintf(cmd, sizeof(cmd), "'%s' sign --key '%s/%s.key' --cert '%s/%s.pem' -o '%s' '%s'", bin, pki, who, pki, who, out,
           in);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot sign %s as %s: %s\n", rel, who, cmd);
    exit(2);
  }
  return tu_read(out, len);
}

/* Replaces the first occurrence of from (inside the document) with to. */
static char *replace_once(char *doc, size_t *len, const char *from, const char *to) {
  char *at = strstr(doc, from);
  if (!at) {
    fprintf(stderr, "'%s' not found in the signed document\n", from);
    exit(2);
  }
  size_t fl = strlen(from), tl = strlen(to), head = (size_t)(at - doc);
  char *n = malloc(*len - fl + tl + 1);
  memcpy(n, doc, head);
  memcpy(n + head, to, tl);
  memcpy(n + head + tl, at + fl, *len - head - fl + 1);
  *len = *len - fl + tl;
  free(doc);
  return n;
}

/* Signature wrapping: the signature is valid, but over a ds:Object inside
 * it (URI="#orig"), while the certificate the gateway would process is
 * content nobody signed. Made with the xmlsec1 command-line tool. */
static char *wrapped_example(const char *rel, size_t *len) {
  char in[1024], tmpl[1024], out[1024], cmd[4096];
  snprintf(in, sizeof(in), "%s/examples/%s", LMCGW_SOURCE_DIR, rel);
  size_t l;
  char *doc = tu_read(in, &l);
  char *end = doc ? strstr(doc, "</rsm:SPSCertificate>") : NULL;
  if (!end) {
    fprintf(stderr, "%s: no </rsm:SPSCertificate>\n", in);
    exit(2);
  }
  static const char sig[] =
      "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
      "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
      "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>"
      "<ds:Reference URI=\"#orig\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
      "</ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/>"
      "</ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data>"
      "</ds:KeyInfo><ds:Object Id=\"orig\"><Decoy xmlns=\"urn:lmcgw:test\">what the signer signed</Decoy></ds:Object>"
      "</ds:Signature>";
  size_t head = (size_t)(end - doc), tl = strlen(sig);
  char *t = malloc(l + tl + 1);
  memcpy(t, doc, head);
  memcpy(t + head, sig, tl);
  memcpy(t + head + tl, end, l - head + 1);
  free(doc);
  snprintf(tmpl, sizeof(tmpl), "%s/wrap-template.xml", sigdir);
  snprintf(out, sizeof(out), "%s/wrapped.xml", sigdir);
  free(tu_write(sigdir, "wrap-template.xml", t));
  free(t);
  snprintf(cmd, sizeof(cmd),
           "xmlsec1 --sign --privkey-pem '%s/th-doc.key,%s/th-doc.pem' --id-attr:Id "
           "'http://www.w3.org/2000/09/xmldsig#:Object' --output '%s' '%s' 2>/dev/null",
           pki, pki, out, tmpl);
  if (system(cmd) != 0) {
    fprintf(stderr, "xmlsec1 could not sign the wrapping template: %s\n", cmd);
    exit(2);
  }
  return tu_read(out, len);
}

static char *rep(const char *head, const char *unit, size_t n, const char *tail, size_t *len) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *b = malloc(hl + ul * n + tl + 1), *w = b;
  memcpy(w, head, hl), w += hl;
  for (size_t i = 0; i < n; i++) memcpy(w, unit, ul), w += ul;
  memcpy(w, tail, tl + 1), w += tl;
  *len = (size_t)(w - b);
  return b;
}

static char *dup_bytes(const char *s, size_t n, size_t *len) {
  char *b = malloc(n + 1);
  memcpy(b, s, n);
  b[n] = 0;
  *len = n;
  return b;
}
#define LIT(s, lenp) dup_bytes((s), sizeof(s) - 1, (lenp))

static size_t hostile_cases(hostile *h, size_t max) {
  size_t n = 0, len;
  char *t;
#define ADD(nm, ct, b, l, ex, w, st, cd) \
  do { if (n < max) h[n++] = (hostile){nm, ct, b, l, ex, w, st, cd}; } while (0)
  t = LIT("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>", &len);
  ADD("XXE, external entity", "application/xml", t, len, NULL, R_TRADER, 400, "dtd_forbidden");
  t = LIT("<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
          "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>]><l>&d;</l>", &len);
  ADD("billion laughs", "application/xml", t, len, NULL, R_TRADER, 400, "dtd_forbidden");
  {
    size_t l1;
    char *big = rep("<?xml version='1.0'?><!DOCTYPE q [<!ENTITY e '", "x", 50000, "'>]><q>", &l1);
    char *all = rep(big, "&e;", 2000, "</q>", &len);
    free(big);
    ADD("quadratic blow-up", "application/xml", all, len, NULL, R_TRADER, 400, "dtd_forbidden");
  }
  t = LIT("<?xml version='1.0'?><!DOCTYPE d SYSTEM 'http://127.0.0.1:9/evil.dtd'><d/>", &len);
  ADD("external DTD over the network", "application/xml", t, len, NULL, R_TRADER, 400, "dtd_forbidden");
  t = LIT("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY % p SYSTEM 'file:///etc/hostname'> %p;]><d/>", &len);
  ADD("parameter entity", "application/xml", t, len, NULL, R_TRADER, 400, "dtd_forbidden");
  t = rep("<?xml version='1.0'?>", "<a>", 10000, "", &len);
  ADD("10,000-deep nesting", "application/xml", t, len, NULL, R_TRADER, 400, "not_well_formed");
  t = LIT("<?xml version='1.0' encoding='UTF-8'?><a>\xc3\x28</a>", &len);
  ADD("invalid UTF-8 in XML", "application/xml", t, len, NULL, R_TRADER, 400, "not_well_formed");
  t = dup_bytes("<?xml version='1.0'?><a>x\0y</a>", 30, &len);
  ADD("NUL byte in XML", "application/xml", t, len, NULL, R_TRADER, 400, "not_well_formed");
  t = LIT("<?xml version='1.0'?><a>&undefined;</a>", &len);
  ADD("undefined entity", "application/xml", t, len, NULL, R_TRADER, 400, "not_well_formed");
  t = LIT("<?xml version='1.0'?><!-- a -- b --><a/>", &len);
  ADD("comment with --", "application/xml", t, len, NULL, R_TRADER, 400, "not_well_formed");
  t = LIT("<?xml version='1.0'?><md:MetaData xmlns:md='urn:wco:datamodel:WCO:DocumentMetaData-DMS:2'"
          " xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='file:///etc/passwd' parse='text'/>"
          "</md:MetaData>", &len);
  ADD("XInclude (never processed)", "application/xml", t, len, NULL, R_TRADER, 422, "schema_invalid");
  {
    char *b = malloc(200000), *w = b;
    w += sprintf(w, "<?xml version='1.0'?><x");
    for (int i = 0; i < 10000; i++) w += sprintf(w, " a%d='1'", i);
    w += sprintf(w, "/>");
    ADD("10,000 attributes", "application/xml", b, (size_t)(w - b), NULL, R_TRADER, 422, "unknown_document");
  }
  t = rep("<?xml version='1.0'?><Unknown xmlns='urn:example:x'>", "y", 100, "</Unknown>", &len);
  ADD("unknown root element", "application/xml", t, len, NULL, R_TRADER, 422, "unknown_document");
  t = rep("", " ", 300 * 1024, "", &len);
  ADD("body over http.max_body", "application/xml", t, len, NULL, R_TRADER, 413, "");
  t = LIT("", &len);
  ADD("empty body", "application/xml", t, len, NULL, R_TRADER, 400, "empty_body");
  {
    char *b = malloc(1024);
    for (int i = 0; i < 1024; i++) b[i] = (char)(i * 7 + 3);
    b[0] = 1;
    ADD("binary garbage", "application/octet-stream", b, 1024, NULL, R_TRADER, 422, "unknown_format");
  }
  {
    size_t l1;
    char *open = rep("{\"kind\":\"declaration\",\"remarks\":", "[", 5000, "", &l1);
    t = rep(open, "]", 5000, "}", &len);
    free(open);
    ADD("JSON nested 5,000 deep", "application/json", t, len, NULL, R_TRADER, 400, "json_malformed");
  }
  t = LIT("{\"kind\":\"declaration\",\"ucr\":\"a\",\"ucr\":\"b\"}", &len);
  ADD("JSON duplicate key", "application/json", t, len, NULL, R_TRADER, 400, "json_malformed");
  t = LIT("{\"kind\":\"declaration\",\"ucr\":\"\xc3\x28\"}", &len);
  ADD("invalid UTF-8 in JSON", "application/json", t, len, NULL, R_TRADER, 400, "json_malformed");
  t = LIT("{\"kind\":\"declaration\",\"ucr\":\"U1\",\"__proto__\":{\"admin\":true}}", &len);
  ADD("JSON unknown field", "application/json", t, len, NULL, R_TRADER, 422, "json_unknown_field");
  t = LIT("{\"kind\":\"declaration\",\"ucr\":\"U1\",\"items\":\"all of them\"}", &len);
  ADD("JSON wrong type", "application/json", t, len, NULL, R_TRADER, 422, "json_type");
  t = LIT("UNA:+.? 'UNB+UNOC:3+A+B+260312:0915+1'UNH+1+CUSDEC:D:99B:UN'BGM+830+X+9'UNT+9+1'UNZ+1+1'", &len);
  ADD("EDIFACT wrong UNT count", "application/edifact", t, len, NULL, R_TRADER, 422, "unt_count");
  t = LIT("UNA:+.? 'UNB+UNOC:3+A+B+260312:0915+1'UNH+1+CUSDEC:D:99B:UN'BGM+830+X?", &len);
  ADD("EDIFACT release character at the end", "application/edifact", t, len, NULL, R_TRADER, 400, "release_at_end");
  t = LIT("UNA:+.? 'UNB+UNOC:3+A+B+260312:0915+1'UNH+1+CUSDEC:D:99B:UN'BGM+830+X+9", &len);
  ADD("EDIFACT unterminated segment", "application/edifact", t, len, NULL, R_TRADER, 400, "unterminated_segment");
  t = LIT("%PDF-1.4", &len);
  ADD("unsupported content type", "application/pdf", t, len, NULL, R_TRADER, 415, "unsupported_media_type");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("X-UCR differs from the document", "application/xml", t, len, "X-UCR: 6TH-SOMETHING-ELSE\r\n", R_TRADER, 422,
      "ucr_mismatch");
  t = example("responses/th-vn-durian-accepted.xml", &len);
  ADD("X-UCR of 200 characters", "application/xml", t, len,
      "X-UCR: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
      R_CUSTOMS, 422, "ucr_invalid");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("bad X-Destination", "application/xml", t, len, "X-Destination: XX1\r\n", R_TRADER, 422, "destination_invalid");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("bad X-Message-Id", "application/xml", t, len, "X-Message-Id: ../../etc/passwd\r\n", R_TRADER, 400,
      "bad_message_id");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("no client certificate", "application/xml", t, len, NULL, -1, 0, "");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("client certificate from another CA", "application/xml", t, len, NULL, -2, 0, "");
  t = example("declarations/th-vn-durian-export.xml", &len);
  ADD("certificate without a role", "application/xml", t, len, NULL, R_NOROLE, 403, "forbidden");
  t = example("declarations/kh-vn-rice.xml", &len);
  ADD("customs system submitting for another country", "application/xml", t, len, NULL, R_CUSTOMS, 403, "forbidden");
#define DURIAN_UCR "X-UCR: 6TH0105536000123-DUR0001\r\n"
  /* Signatures: an SPS certificate must arrive signed by its country (trust.require_signature). */
  t = example("sps/th-vn-durian-phyto.xml", &len);
  ADD("unsigned SPS certificate where one is required", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_required");
  t = replace_once(signed_example("sps/th-vn-durian-phyto.xml", "th-doc", &len), &len, ">17280<", ">17000<");
  ADD("signed certificate, content changed after signing", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_digest_mismatch");
  t = signed_example("sps/th-vn-durian-phyto.xml", "th-doc", &len);
  {
    char *sv = strstr(t, "SignatureValue>");
    if (sv) sv[15] = sv[15] == 'A' ? 'B' : 'A';
  }
  ADD("signed certificate, signature value changed", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_signature_invalid");
  t = signed_example("sps/th-vn-durian-phyto.xml", "th-expired", &len);
  ADD("signer certificate expired (2021)", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422, "signature_expired");
  t = signed_example("sps/th-vn-durian-phyto.xml", "th-revoked", &len);
  ADD("signer certificate revoked (CRL)", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422, "signature_revoked");
  t = signed_example("sps/th-vn-durian-phyto.xml", "self-doc", &len);
  ADD("self-signed signer certificate", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422, "signature_untrusted");
  t = signed_example("sps/th-vn-durian-phyto.xml", "vn-doc", &len);
  ADD("Thai certificate signed under Vietnam's CA", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_untrusted");
  t = signed_example("sps/th-vn-durian-phyto.xml", "th-vnsubject", &len);
  ADD("signer of another country under the right CA", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_wrong_country");
  t = signed_example("sps/th-vn-durian-phyto.xml", "th-nokeyusage", &len);
  ADD("signer certificate not for signing", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422, "signature_key_usage");
  t = wrapped_example("sps/th-vn-durian-phyto.xml", &len);
  ADD("signature wrapping (reference to a ds:Object)", "application/xml", t, len, DURIAN_UCR, R_TRADER, 422,
      "signature_wrapping");
#undef DURIAN_UCR
  /* Raw requests: the HTTP layer's own defences. */
  t = LIT("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Ty", &len);
  ADD("slow headers (never finished)", NULL, t, len, NULL, R_TRADER, 408, "");
  t = rep("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nX-Filler: ", "f", 20000, "\r\n\r\n", &len);
  ADD("request head over http.max_header_bytes", NULL, t, len, NULL, R_TRADER, 431, "");
  t = LIT("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
          "0\r\n\r\n", &len);
  ADD("Content-Length with Transfer-Encoding (smuggling)", NULL, t, len, NULL, R_TRADER, 400, "");
  t = LIT("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml\r\n"
          "Content-Length: 1073741824\r\n\r\n", &len);
  ADD("Content-Length of 1 GiB", NULL, t, len, NULL, R_TRADER, 413, "");
  t = LIT("GET /v1/../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &len);
  ADD("path traversal", NULL, t, len, NULL, R_TRADER, 404, "");
  t = LIT("DELETE /v1/messages HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &len);
  ADD("method not allowed", NULL, t, len, NULL, R_TRADER, 405, "");
  t = LIT("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", &len);
  ADD("malformed Content-Length", NULL, t, len, NULL, R_TRADER, 400, "");
#undef ADD
  return n;
}

static int test_hostile(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-hostile", "ho", prefix, log);
  char *cfg = write_config_extra(dir, bootstrap, prefix, 10000, "trust:\n  require_signature: sps_certificate\n");
  sigdir = dir;
  /* Slow clients are cut off after a second here. */
  size_t cl;
  char *patched = tu_read(cfg, &cl);
  char *at = strstr(patched, "  max_body: 256KiB\n");
  REQUIRE(at, "config has max_body");
  size_t plen = strlen(patched) + 64;
  char *text = malloc(plen);
  snprintf(text, plen, "%.*s  max_body: 256KiB\n  header_timeout_ms: 1000\n%s", (int)(at - patched), patched,
           at + strlen("  max_body: 256KiB\n"));
  free(cfg);
  cfg = tu_write(dir, "lmcgw.yaml", text);
  free(text);
  free(patched);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  hostile h[64];
  size_t n = hostile_cases(h, 64);
  CHECK(n >= 30, "the catalogue has %zu cases", n);
  int passed = 0;
  for (size_t i = 0; i < n; i++) {
    const char *cert = h[i].who >= 0 ? role_cert[h[i].who] : h[i].who == -2 ? stranger_cert : NULL;
    const char *key = h[i].who >= 0 ? role_key[h[i].who] : h[i].who == -2 ? stranger_key : NULL;
    tc_tls tls = {ca, cert, key};
    tc_response r;
    if (h[i].ctype) tc_request(port, &tls, "POST", "/v1/messages", h[i].ctype, h[i].body, h[i].len, h[i].extra, &r);
    else tc_raw(port, &tls, h[i].body, h[i].len, &r);
    char code[64];
    first_code(&r, code, sizeof(code));
    int ok = r.status == h[i].status && (!*h[i].code || !strcmp(code, h[i].code));
    passed += ok;
    fprintf(stderr, "%-4s %-52s want %d %-22s got %d %s\n", ok ? "ok" : "FAIL", h[i].name, h[i].status, h[i].code,
            r.status, code);
    CHECK(ok, "%s: %d %s, want %d %s (%.300s)", h[i].name, r.status, code, h[i].status, h[i].code,
          r.body ? r.body : r.error);
    tc_response_free(&r);
    free(h[i].body);
  }
  fprintf(stderr, "hostile catalogue: %d of %zu as expected\n", passed, n);
  /* Still serving after all of it. */
  size_t dl;
  char *durian = example("declarations/th-vn-durian-export.xml", &dl);
  tc_response r;
  REQUIRE(!post(port, client_cert, client_key, "application/xml", durian, dl, NULL, &r), "%s", r.error);
  CHECK(r.status == 202, "after the catalogue: %d %s", r.status, r.body);
  tc_response_free(&r);
  free(durian);
  return test_end(pid, cfg, dir);
}

/* A certificate signed by the exporting country's plant-protection service:
 * verified against that country's trust store, the outcome in the answer
 * and the envelope, and the document forwarded byte for byte, its
 * signature intact (the gateway's own signature travels as a JWS). */
static int test_signatures(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-signatures", "sg", prefix, log);
  char *cfg = write_config_extra(dir, bootstrap, prefix, 10000, "trust:\n  require_signature: sps_certificate\n");
  sigdir = dir;
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  size_t len;
  char *body = signed_example("sps/th-vn-durian-phyto.xml", "th-doc", &len);
  tc_response r;
  REQUIRE(!post(port, client_cert, client_key, "application/xml", body, len, "X-UCR: 6TH0105536000123-DUR0001\r\n", &r),
          "post: %s", r.error);
  CHECK(r.status == 202, "signed certificate: %d %s", r.status, r.body);
  json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
  json_t *sig = j ? json_object_get(j, "signature") : NULL;
  CHECK(sig && json_str(sig, "status") && !strcmp(json_str(sig, "status"), "valid"), "signature in %s", r.body);
  CHECK(sig && json_str(sig, "signer") && strstr(json_str(sig, "signer"), "CN=TH NPPO signer"), "signer in %s", r.body);
  CHECK(sig && json_str(sig, "country") && !strcmp(json_str(sig, "country"), "TH"), "country in %s", r.body);
  CHECK(sig && json_array_size(json_object_get(sig, "chain")) == 1, "chain up to the TH root in %s", r.body);
  CHECK(sig && json_str(sig, "algorithm") && !strcmp(json_str(sig, "algorithm"), "ecdsa-sha256"), "algorithm in %s",
        r.body);
  char id[64] = "";
  if (j && json_str(j, "id")) snprintf(id, sizeof(id), "%s", json_str(j, "id"));
  json_decref(j);
  tc_response_free(&r);
  char topic[200];
  snprintf(topic, sizeof(topic), "%s.VN.sps_certificate.priority", prefix);
  record *recs;
  size_t n = consume_all(bootstrap, topic, 3000, &recs);
  record *rec = find_record(recs, n, id);
  CHECK(rec != NULL, "no record %s in %s", id, topic);
  if (rec) {
    CHECK(rec->len == len && !memcmp(rec->value, body, len), "the signed certificate is forwarded byte for byte");
    CHECK(rec->signature && strstr(rec->signature, "TH NPPO signer"), "lmcgw-signature header: %s",
          rec->signature ? rec->signature : "(none)");
    CHECK(rec->jws && strstr(rec->jws, ".."), "the gateway's detached JWS travels with it");
    char *xml = tu_write(dir, "routed.xml", rec->value), cmd[2048];
    snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --trusted-pem '%s/trust/TH/root.pem' '%s' >>'%s' 2>&1", pki, xml, log);
    CHECK(system(cmd) == 0, "xmlsec1 verifies the sender's signature on what was routed (see %s)", log);
    snprintf(cmd, sizeof(cmd), "'%s' verify --trust '%s/trust/TH' --country TH '%s' >>'%s' 2>&1", bin, pki, xml, log);
    CHECK(system(cmd) == 0, "lmcgw verify accepts it with the TH trust store (see %s)", log);
    free(xml);
  }
  records_free(recs, n);
  free(body);
  return test_end(pid, cfg, dir);
}

/* Publishes records to topic (key, value, content type) and waits for them. */
static int publish(const char *bootstrap, const char *topic, const char *key, const char *value, size_t len,
                   const char *ctype, int n) {
  char es[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, es, sizeof(es));
  rd_kafka_conf_set(c, "enable.idempotence", "true", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  if (!rk) return -1;
  for (int i = 0; i < n; i++) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "content-type", -1, ctype, -1);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, len),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  }
  int rc = rd_kafka_flush(rk, 15000) ? -1 : 0;
  rd_kafka_destroy(rk);
  return rc;
}

/* Distinct message ids among records; *dups counts ids seen twice. */
static size_t distinct_ids(record *r, size_t n, size_t *dups) {
  size_t d = 0, k = 0;
  for (size_t i = 0; i < n; i++) {
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) seen = r[i].id && r[j].id && !strcmp(r[i].id, r[j].id);
    if (seen) d++;
    else k++;
  }
  *dups = d;
  return k;
}

/* Every one of want message ids on topic exactly once (read_committed). */
static void expect_once(const char *bootstrap, const char *topic, size_t want, const char *what) {
  record *recs;
  size_t dups, n = consume_all(bootstrap, topic, 3000, &recs);
  size_t k = distinct_ids(recs, n, &dups);
  CHECK(k == want && dups == 0, "%s (%s): %zu distinct, %zu duplicates, want %zu and 0", what, topic, k, dups, want);
  records_free(recs, n);
}

/* Waits up to timeout_ms for want distinct message ids on topic; gives how many there were. */
static size_t wait_distinct(const char *bootstrap, const char *topic, size_t want, int timeout_ms) {
  size_t done = 0, dups;
  record *recs;
  for (long long end = tp_now_ms() + timeout_ms; tp_now_ms() < end && done < want;) {
    size_t n = consume_all(bootstrap, topic, 3000, &recs);
    done = distinct_ids(recs, n, &dups);
    records_free(recs, n);
    if (done < want) usleep(500000);
  }
  return done;
}


/* National systems publish to <prefix>.in; the gateway processes each record
 * like an HTTP submission, in Kafka transactions with the consumed offsets.
 * Killed with SIGKILL midway and started again, it routes every valid record
 * exactly once and dead-letters every invalid one exactly once. */
static int test_ingest(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600], topic[200];
  char *dir = test_dir("it-ingest", "in", prefix, log);
  char *cfg = write_config_extra(dir, bootstrap, prefix, 10000, "ingest:\n  batch: 4\n");
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway start");
  size_t vl, il;
  char *valid = example("declarations/th-vn-durian-export.xml", &vl);
  char *invalid = example("invalid/schema-invalid.xml", &il);
  enum { N_VALID = 24, N_INVALID = 6 };
  snprintf(topic, sizeof(topic), "%s.in", prefix);
  REQUIRE(!publish(bootstrap, topic, "6TH0105536000123-DUR0001", valid, vl, "application/xml", N_VALID / 2), "publish");
  REQUIRE(!publish(bootstrap, topic, "BAD-1", invalid, il, "application/xml", N_INVALID), "publish");
  REQUIRE(!publish(bootstrap, topic, "6TH0105536000123-DUR0001", valid, vl, "application/xml", N_VALID / 2), "publish");
  char results[220];
  snprintf(results, sizeof(results), "%s.in.results", prefix);
  record *recs;
  size_t dups, n, before = 0;
  /* Kill it once it has committed something: the rest is in flight. */
  for (long long stop_at = tp_now_ms() + 30000; tp_now_ms() < stop_at && before == 0;) {
    n = consume_all(bootstrap, results, 100, &recs);
    before = distinct_ids(recs, n, &dups);
    records_free(recs, n);
  }
  kill(pid, SIGKILL);
  tp_stop(pid, 0, 5000);
  n = consume_all(bootstrap, results, 3000, &recs);
  before = distinct_ids(recs, n, &dups);
  records_free(recs, n);
  fprintf(stderr, "ingest: %zu of %d records committed before SIGKILL\n", before, N_VALID + N_INVALID);
  pid = start_gateway(cfg, port, log);
  REQUIRE(pid > 0, "gateway restart");
  size_t done = wait_distinct(bootstrap, results, N_VALID + N_INVALID, 60000);
  CHECK(done == N_VALID + N_INVALID, "results for %zu of %d records", done, N_VALID + N_INVALID);
  expect_once(bootstrap, results, N_VALID + N_INVALID, "each record answered once");
  char routed[200];
  snprintf(routed, sizeof(routed), "%s.VN.declaration.priority", prefix);
  expect_once(bootstrap, routed, N_VALID, "routed");
  char dlq[200];
  snprintf(dlq, sizeof(dlq), "%s.dlq", prefix);
  expect_once(bootstrap, dlq, N_INVALID, "dead letters");
  free(valid);
  free(invalid);
  return test_end(pid, cfg, dir);
}

/* Polls GET path on a plain-HTTP gateway until the body holds want. */
static int wait_for(int port, const char *path, const char *want, int timeout_ms, char **body) {
  long long end = tp_now_ms() + timeout_ms;
  *body = NULL;
  while (tp_now_ms() < end) {
    tc_response r;
    if (!tc_request(port, NULL, "GET", path, NULL, NULL, 0, NULL, &r) && r.status == 200 && r.body && strstr(r.body, want)) {
      *body = strdup(r.body);
      tc_response_free(&r);
      return 0;
    }
    tc_response_free(&r);
    usleep(200000);
  }
  return -1;
}

/* The inspector page end to end: a gateway on the real broker takes a
 * declaration and its phytosanitary certificate, the status store follows
 * the status topic, and headless Chromium shows the shipment ready for
 * clearance, its documents and its timeline; then a shipment still missing
 * its certificate says so. */
static int test_ui(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600], text[4096];
  char *dir = test_dir("it-ui", "ui", prefix, log);
  /* Plain HTTP with anonymous readers: the browser has no client certificate here. */
  snprintf(text, sizeof(text),
           "gateway:\n  country: TH\n  instance_id: it-%s\n  state_dir: %s/state\n"
           "http:\n  listen: 127.0.0.1:1\n  plain: true\n"
           "signing:\n  key: %s\n  cert: %s\n"
           "access:\n  anonymous_role: trader\n  anonymous_reader: admin\n"
           "routing:\n  topic_prefix: %s\n"
           "kafka:\n  bootstrap.servers: %s\n",
           prefix, dir, signer_key, signer_cert, prefix, bootstrap);
  char *cfg = tu_write(dir, "lmcgw.yaml", text);
  int port = tp_free_port();
  char listen[64], *argv[8] = {(char *)bin, "serve", "--config", cfg, "--listen", listen, NULL};
  snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
  pid_t pid = tp_spawn(argv, log);
  REQUIRE(!tp_wait_healthy(port, NULL, NULL, NULL, 20000), "gateway comes up (log %s)", log);
  static const char *files[] = {"declarations/th-vn-durian-export.xml", "sps/th-vn-durian-phyto.xml"};
  for (size_t i = 0; i < 2; i++) {
    size_t len;
    char *b = example(files[i], &len);
    tc_response r;
    REQUIRE(!tc_request(port, NULL, "POST", "/v1/messages", "application/xml", b, len,
                        "X-UCR: 6TH0105536000123-DUR0001\r\n", &r),
            "%s", r.error);
    CHECK(r.status == 202, "%s: %d %s", files[i], r.status, r.body);
    tc_response_free(&r);
    free(b);
  }
  char *body = NULL;
  CHECK(!wait_for(port, "/v1/shipments/6TH0105536000123-DUR0001", "READY_FOR_CLEARANCE", 20000, &body),
        "the shipment becomes ready for clearance");
  free(body);
  /* A longan declaration alone: its phytosanitary certificate and the
   * certificate of origin it cites (Form E, preference claimed) are missing. */
  size_t len;
  char *b = example("declarations/th-cn-longan.json", &len);
  tc_response r;
  REQUIRE(!tc_request(port, NULL, "POST", "/v1/messages", "application/json", b, len, NULL, &r), "%s", r.error);
  CHECK(r.status == 202, "longan: %d %s", r.status, r.body);
  json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
  char longan[200] = "";
  if (j && json_str(j, "ucr")) snprintf(longan, sizeof(longan), "%s", json_str(j, "ucr"));
  json_decref(j);
  tc_response_free(&r);
  free(b);
  char path[300];
  snprintf(path, sizeof(path), "/v1/shipments/%s", longan);
  CHECK(!wait_for(port, path, "IN_PROGRESS", 20000, &body), "the longan shipment is in progress");
  free(body);
  char base[100], cmd[2048];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
  snprintf(cmd, sizeof(cmd),
           "'%s/tests/browser/ui_check.sh' '%s' '#/shipments/6TH0105536000123-DUR0001' "
           "'data-test=shipment-status:Ready for clearance' 'data-test=document-row#2' 'data-test=missing-item#0' "
           "'data-test=perishable' 'data-test=timeline-row' 'data-test=elapsed' >>'%s' 2>&1",
           LMCGW_SOURCE_DIR, base, log);
  int rc = system(cmd);
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    fprintf(stderr, "ui: no chromium on this machine: browser checks skipped\n");
    tp_stop(pid, SIGTERM, 15000);
    free(cfg);
    free(dir);
    return 77;
  }
  CHECK(rc == 0, "chromium shows the ready shipment (see %s)", log);
  snprintf(cmd, sizeof(cmd),
           "'%s/tests/browser/ui_check.sh' '%s' '#/shipments/%s' 'data-test=shipment-status:In progress' "
           "'data-test=missing-item#2' 'data-test=missing-why:phytosanitary' 'data-test=missing-why:E2026-TH-0188' "
           ">>'%s' 2>&1",
           LMCGW_SOURCE_DIR, base, longan, log);
  CHECK(system(cmd) == 0, "chromium shows what the longan shipment still misses (see %s)", log);
  /* The Form E arrives (portal JSON): matched by its number, one thing less missing. */
  b = example("certificates/th-cn-longan-form-e.json", &len);
  REQUIRE(!tc_request(port, NULL, "POST", "/v1/messages", "application/json", b, len, NULL, &r), "%s", r.error);
  CHECK(r.status == 202, "Form E: %d %s", r.status, r.body);
  tc_response_free(&r);
  free(b);
  CHECK(!wait_for(port, path, "\"type\":\"certificate_of_origin\",\"number\":\"E2026-TH-0188\"", 20000, &body),
        "the certificate of origin joins the shipment");
  CHECK(body && !strstr(body, "cites certificate of origin"), "and is no longer missing: %.600s", body ? body : "");
  free(body);
  snprintf(cmd, sizeof(cmd),
           "'%s/tests/browser/ui_check.sh' '%s' '#/shipments/%s' 'data-test=missing-item#1' "
           "'data-test=document-row#2' >>'%s' 2>&1",
           LMCGW_SOURCE_DIR, base, longan, log);
  CHECK(system(cmd) == 0, "chromium shows the certificate of origin among the documents (see %s)", log);
  snprintf(cmd, sizeof(cmd),
           "'%s/tests/browser/ui_check.sh' '%s' '#/' 'data-test=shipment-row#2' >>'%s' 2>&1", LMCGW_SOURCE_DIR, base, log);
  CHECK(system(cmd) == 0, "chromium lists both shipments (see %s)", log);
  snprintf(cmd, sizeof(cmd),
           "'%s/tests/browser/ui_check.sh' '%s' '#/shipments/NO-SUCH-UCR' 'data-test=error' >>'%s' 2>&1",
           LMCGW_SOURCE_DIR, base, log);
  CHECK(system(cmd) == 0, "chromium shows a clear error for an unknown UCR (see %s)", log);
  return test_end(pid, cfg, dir);
}

/* A gateway configured as one country of the exchange, on the shared broker. */
static char *exchange_config(const char *dir, const char *cc, const char *bootstrap, const char *prefix, int endpoint_port) {
  char text[8192], name[64];
  snprintf(name, sizeof(name), "%s.yaml", cc);
  snprintf(text, sizeof(text),
           "gateway:\n  country: %s\n  instance_id: it-%s-%s\n  state_dir: %s/state-%s\n"
           "http:\n  listen: 127.0.0.1:1\n"
           "tls:\n  cert: %s\n  key: %s\n  client_ca: %s\n"
           "signing:\n  key: %s\n  cert: %s\n"
           "pipeline:\n  workers: 2\n  produce_timeout_ms: 10000\n"
           "routing:\n  topic_prefix: %s\n"
           "kafka:\n  bootstrap.servers: %s\n"
           "delivery:\n  ca: %s\n  cert: %s\n  key: %s\n  retry_initial_ms: 200\n  retry_max_ms: 1000\n"
           "countries:\n  VN: {endpoint: 'https://127.0.0.1:%d/inbox', trust_store: %s/trust/VN}\n"
           "  TH: {trust_store: %s/trust/TH}\n",
           cc, prefix, cc, dir, cc, server_cert, server_key, ca, signer_key, signer_cert, prefix, bootstrap, ca,
           role_cert[R_VN_CUSTOMS], role_key[R_VN_CUSTOMS], endpoint_port, pki, pki);
  return tu_write(dir, name, text);
}

/* GET path with the admin certificate until the body holds want. */
static char *wait_get(int port, const char *path, const char *want, int timeout_ms) {
  tc_tls tls = {ca, role_cert[R_ADMIN], role_key[R_ADMIN]};
  for (long long end = tp_now_ms() + timeout_ms; tp_now_ms() < end; usleep(200000)) {
    tc_response r;
    if (!tc_request(port, &tls, "GET", path, NULL, NULL, 0, NULL, &r) && r.status == 200 && r.body &&
        strstr(r.body, want)) {
      char *b = strdup(r.body);
      tc_response_free(&r);
      return b;
    }
    tc_response_free(&r);
  }
  return NULL;
}

/* The shipment's answer without what changes by itself (elapsed_s). */
static char *stable_shipment(const char *body) {
  json_t *j = json_loads(body, 0, NULL);
  if (!j) return NULL;
  json_object_del(j, "elapsed_s");
  char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
  json_decref(j);
  return s;
}

/* Two gateways, Thailand and Vietnam, on one broker. Thailand's takes a
 * declaration and an SPS certificate for one consignment; Vietnam's
 * delivery worker hands both, in Vietnam's formats and signed, to the
 * national endpoint, which is down at first and then up: nothing lost,
 * nothing twice. Both gateways' status shows the timeline and the shipment
 * ready for clearance; Vietnam's status store, deleted, is rebuilt from the
 * topic with the same answers. */
static int test_exchange(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char *dir = tu_mkdtemp("it-exchange"), prefix[64], log_th[600], log_vn[600];
  snprintf(prefix, sizeof(prefix), "ex%d%lld", getpid(), tp_now_ms() % 100000);
  snprintf(log_th, sizeof(log_th), "%s/gateway-th.log", dir);
  snprintf(log_vn, sizeof(log_vn), "%s/gateway-vn.log", dir);
  int ep_port = srv_free_port();
  char *cfg_th = exchange_config(dir, "TH", bootstrap, prefix, ep_port);
  char *cfg_vn = exchange_config(dir, "VN", bootstrap, prefix, ep_port);
  int port_th = tp_free_port(), port_vn = tp_free_port();
  pid_t th = start_gateway(cfg_th, port_th, log_th);
  REQUIRE(th > 0, "TH gateway start");
  pid_t vn = start_gateway(cfg_vn, port_vn, log_vn);
  REQUIRE(vn > 0, "VN gateway start");
  static const char *UCR = "6TH0105536000123-DUR0001";
  static const struct {
    const char *file, *extra;
  } docs[] = {{"declarations/th-vn-durian-export.xml", NULL},
              {"sps/th-vn-durian-phyto.xml", "X-UCR: 6TH0105536000123-DUR0001\r\n"}};
  char ids[2][64] = {"", ""};
  for (size_t i = 0; i < 2; i++) {
    size_t len;
    char *b = example(docs[i].file, &len);
    tc_response r;
    REQUIRE(!post(port_th, client_cert, client_key, "application/xml", b, len, docs[i].extra, &r), "%s", r.error);
    CHECK(r.status == 202, "%s: %d %s", docs[i].file, r.status, r.body);
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    if (j && json_str(j, "id")) snprintf(ids[i], sizeof(ids[i]), "%s", json_str(j, "id"));
    json_decref(j);
    tc_response_free(&r);
    free(b);
  }
  /* The endpoint is down for the first seconds: deliveries fail and are retried. */
  char path[300];
  snprintf(path, sizeof(path), "/v1/shipments/%s", UCR);
  char *b = wait_get(port_vn, path, "DELIVERY_FAILED", 30000);
  CHECK(b != NULL, "VN records the failed delivery while the endpoint is down");
  free(b);
  tsrv *ep = srv_start(pki, "127.0.0.1", ep_port, 200, NULL, 0);
  REQUIRE(ep != NULL, "endpoint starts on %d", ep_port);
  for (long long end = tp_now_ms() + 60000; tp_now_ms() < end && !(srv_ok_with_id(ep, ids[0]) && srv_ok_with_id(ep, ids[1]));)
    usleep(100000);
  for (size_t i = 0; i < 2; i++) CHECK(srv_ok_with_id(ep, ids[i]) == 1, "%s delivered once", docs[i].file);
  pthread_mutex_lock(&ep->mu);
  for (size_t i = 0; i < ep->n_reqs; i++) {
    const req *q = &ep->reqs[i];
    if (!strcmp(q->id, ids[0])) {
      /* Vietnam's systems take UN/EDIFACT: translated, with the gateway's JWS. */
      CHECK(!strcmp(q->format, "cusdec") && !strncmp(q->ctype, "application/edifact", 19), "declaration as %s (%s)",
            q->format, q->ctype);
      CHECK(!strncmp(q->body, "UNA", 3) || !strncmp(q->body, "UNB", 3), "EDIFACT body: %.40s", q->body);
      CHECK(q->jws[0] != 0, "the declaration carries the gateway's JWS");
      CHECK(!strcmp(q->ucr, UCR) && !strcmp(q->origin, "TH"), "envelope: UCR %s, origin %s", q->ucr, q->origin);
    } else if (!strcmp(q->id, ids[1])) {
      CHECK(!strcmp(q->format, "sps") && strstr(q->body, "SPSCertificate"), "certificate as %s", q->format);
    }
  }
  pthread_mutex_unlock(&ep->mu);
  /* Both sides: the whole timeline, and the shipment ready for clearance. */
  char *th_view = wait_get(port_th, path, "READY_FOR_CLEARANCE", 20000);
  char *vn_view = wait_get(port_vn, path, "DELIVERED", 20000);
  CHECK(th_view && vn_view && strstr(vn_view, "READY_FOR_CLEARANCE"), "both sides see the shipment ready: %.300s",
        vn_view ? vn_view : "(none)");
  static const char *stages[] = {"RECEIVED", "VALIDATED", "SIGNED", "ROUTED", "DELIVERY_FAILED", "DELIVERED"};
  for (size_t i = 0; i < 6; i++) CHECK(vn_view && strstr(vn_view, stages[i]), "the timeline has %s", stages[i]);
  free(th_view);
  /* Who may read it, over mutual TLS: the trader that submitted it, Thailand's
   * inspector and Vietnam's customs (to and from their countries); a
   * certificate without a role may not, nor a client without one. */
  static const struct {
    int who, status;
  } readers[] = {{R_TRADER, 200}, {R_INSPECTOR, 200}, {R_VN_CUSTOMS, 200}, {R_ADMIN, 200}, {R_NOROLE, 403}};
  for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
    tc_tls tls = {ca, role_cert[readers[i].who], role_key[readers[i].who]};
    tc_response rr;
    REQUIRE(!tc_request(port_vn, &tls, "GET", path, NULL, NULL, 0, NULL, &rr), "%s", rr.error);
    CHECK(rr.status == readers[i].status, "reader %d: %d, want %d (%.200s)", readers[i].who, rr.status,
          readers[i].status, rr.body ? rr.body : "");
    tc_response_free(&rr);
  }
  /* The same from the command line, as an inspector's script would ask. */
  char cmd[3000], out_file[700];
  snprintf(out_file, sizeof(out_file), "%s/status.txt", dir);
  snprintf(cmd, sizeof(cmd), "'%s' status --url https://localhost:%d --ca '%s' --cert '%s' --key '%s' '%s' >'%s' 2>&1",
           bin, port_th, ca, role_cert[R_ADMIN], role_key[R_ADMIN], UCR, out_file);
  CHECK(system(cmd) == 0, "lmcgw status finds the shipment");
  size_t ol;
  char *out = tu_read(out_file, &ol);
  CHECK(out && strstr(out, "READY_FOR_CLEARANCE") && strstr(out, "Missing before release:\n  nothing"),
        "lmcgw status prints it ready: %s", out ? out : "(nothing)");
  free(out);
  /* A second consignment document once everything runs: how long from
   * submission in Thailand to delivery in Vietnam. */
  size_t len;
  char *decl = example("declarations/th-vn-durian-export.xml", &len);
  tc_response r;
  long long t0 = tp_now_ms();
  REQUIRE(!post(port_th, client_cert, client_key, "application/xml", decl, len, NULL, &r), "%s", r.error);
  char id3[64] = "";
  json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
  if (j && json_str(j, "id")) snprintf(id3, sizeof(id3), "%s", json_str(j, "id"));
  json_decref(j);
  tc_response_free(&r);
  free(decl);
  while (tp_now_ms() - t0 < 30000 && !srv_ok_with_id(ep, id3)) usleep(2000);
  CHECK(srv_ok_with_id(ep, id3) == 1, "the second declaration is delivered");
  fprintf(stderr, "exchange: submission in TH to delivery in VN: %lld ms (ASan build, real broker)\n", tp_now_ms() - t0);
  /* Vietnam's status store deleted: rebuilt from the topic, same answers. */
  free(vn_view);
  /* Settled first: the same answer twice, a second apart. */
  char *prev = NULL;
  vn_view = NULL;
  for (long long end = tp_now_ms() + 20000; tp_now_ms() < end; usleep(1000000)) {
    char *now = wait_get(port_vn, path, id3, 5000), *st = now ? stable_shipment(now) : NULL;
    free(now);
    if (st && prev && !strcmp(st, prev)) {
      vn_view = st;
      break;
    }
    free(prev);
    prev = st;
  }
  free(prev);
  CHECK(vn_view != NULL, "VN's view of the shipment settles");
  CHECK(tp_stop(vn, SIGTERM, 15000) == 0, "VN stops");
  char db[700];
  snprintf(db, sizeof(db), "%s/state-VN/status.db", dir);
  CHECK(unlink(db) == 0, "status store deleted");
  snprintf(db, sizeof(db), "%s/state-VN/status.db-wal", dir);
  unlink(db);
  snprintf(db, sizeof(db), "%s/state-VN/status.db-shm", dir);
  unlink(db);
  vn = start_gateway(cfg_vn, port_vn, log_vn);
  REQUIRE(vn > 0, "VN gateway restart");
  /* Rebuilt from the topic: the same answer once it has caught up. */
  char *c = NULL;
  for (long long end = tp_now_ms() + 30000; tp_now_ms() < end; usleep(300000)) {
    char *rebuilt = wait_get(port_vn, path, id3, 5000);
    free(c);
    c = rebuilt ? stable_shipment(rebuilt) : NULL;
    free(rebuilt);
    if (c && vn_view && !strcmp(c, vn_view)) break;
  }
  CHECK(c && vn_view && !strcmp(vn_view, c), "rebuilt store gives the same answer:\n  before %.600s\n  after  %.600s",
        vn_view ? vn_view : "-", c ? c : "-");
  free(c);
  free(vn_view);
  srv_stop(ep);
  CHECK(tp_stop(th, SIGTERM, 15000) == 0, "TH graceful exit");
  CHECK(tp_stop(vn, SIGTERM, 15000) == 0, "VN graceful exit");
  free(cfg_th);
  free(cfg_vn);
  if (!failures) tu_rmrf(dir);
  free(dir);
  return failures ? 1 : 0;
}

/* Lines of a log file that hold needle. */
static int log_count(const char *path, const char *needle) {
  size_t len;
  char *t = tu_read(path, &len);
  int n = 0;
  for (char *at = t; at && (at = strstr(at, needle)); at += strlen(needle)) n++;
  free(t);
  return n;
}

typedef struct streamer {
  const char *bootstrap, *topic, *body;
  size_t len;
  int n, every_ms;
  long long kill_at; /* set by the test: when the first instance died */
} streamer;

/* A national system publishing one declaration every every_ms, each for a
 * consignment of its own (UCR ...-F000000 upwards, the key too). */
static void *stream_main(void *arg) {
  streamer *st = arg;
  char es[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", st->bootstrap, es, sizeof(es));
  rd_kafka_conf_set(c, "enable.idempotence", "true", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  if (!rk) return (void *)1;
  char *doc = malloc(st->len + 1);
  memcpy(doc, st->body, st->len + 1);
  char *at = strstr(doc, "6TH0105536000123-DUR0001");
  for (int i = 0; at && i < st->n; i++) {
    char ucr[32];
    snprintf(ucr, sizeof(ucr), "6TH0105536000123-F%06d", i);
    memcpy(at, ucr, strlen(ucr));
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "content-type", -1, "application/xml", -1);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(st->topic), RD_KAFKA_V_KEY(ucr, strlen(ucr)),
                      RD_KAFKA_V_VALUE(doc, st->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                      RD_KAFKA_V_END);
    rd_kafka_poll(rk, 0);
    usleep((useconds_t)st->every_ms * 1000);
  }
  int rc = at && !rd_kafka_flush(rk, 15000) ? 0 : 1;
  free(doc);
  rd_kafka_destroy(rk);
  return (void *)(intptr_t)rc;
}

static char *failover_config(const char *dir, const char *name, const char *bootstrap, const char *prefix) {
  char sub[600], file[64];
  snprintf(sub, sizeof(sub), "%s/%s", dir, name);
  if (mkdir(sub, 0700)) return NULL;
  char *cfg = write_config_extra(sub, bootstrap, prefix, 10000, "ingest:\n  batch: 4\n");
  if (!cfg) return NULL;
  size_t len;
  char *text = tu_read(cfg, &len), inst[64];
  free(cfg);
  snprintf(inst, sizeof(inst), "instance_id: it-%s-%s", prefix, name);
  char *i = text ? strstr(text, "instance_id: ") : NULL;
  char *e = i ? strchr(i, '\n') : NULL;
  char *k = text ? strstr(text, "kafka:\n") : NULL;
  if (!i || !e || !k) {
    free(text);
    return NULL;
  }
  /* instance_id: its own (its transactional id and static membership);
   * kafka: the session timeout at the broker's minimum, so a killed member's
   * partitions move after 6 s instead of 45. */
  char out[9000];
  snprintf(out, sizeof(out), "%.*s%s%.*skafka:\n  session.timeout.ms: 6000\n  heartbeat.interval.ms: 1000\n%s",
           (int)(i - text), text, inst, (int)(k - e), e, k + strlen("kafka:\n"));
  free(text);
  snprintf(file, sizeof(file), "%s.yaml", name);
  return tu_write(dir, file, out);
}

/* Two instances of one country share <prefix>.in as one consumer group while
 * a national system streams declarations in; one is killed with SIGKILL
 * midway. Every record is answered and routed exactly once, the survivor
 * takes over the dead one's partitions, and once the dead one is back both
 * status stores give the same answers. */
static int test_failover(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log_a[600], log_b[600], topic[200];
  char *dir = test_dir("it-failover", "fo", prefix, log_a);
  snprintf(log_a, sizeof(log_a), "%s/gateway-a.log", dir);
  snprintf(log_b, sizeof(log_b), "%s/gateway-b.log", dir);
  char *cfg_a = failover_config(dir, "a", bootstrap, prefix);
  char *cfg_b = failover_config(dir, "b", bootstrap, prefix);
  REQUIRE(cfg_a && cfg_b, "configs");
  int port_a = tp_free_port(), port_b = tp_free_port();
  pid_t a = start_gateway(cfg_a, port_a, log_a);
  REQUIRE(a > 0, "instance a starts");
  pid_t b = start_gateway(cfg_b, port_b, log_b);
  REQUIRE(b > 0, "instance b starts");
  /* Both in the group, each with its share, before the stream starts. */
  for (long long end = tp_now_ms() + 30000;
       tp_now_ms() < end && !(log_count(log_a, "assigned 3 partition") && log_count(log_b, "assigned 3 partition"));)
    usleep(200000);
  CHECK(log_count(log_a, "assigned 3 partition") && log_count(log_b, "assigned 3 partition"),
        "the two instances share the six partitions of %s.in", prefix);
  size_t vl;
  char *valid = example("declarations/th-vn-durian-export.xml", &vl);
  enum { N = 120 };
  snprintf(topic, sizeof(topic), "%s.in", prefix);
  streamer st = {bootstrap, topic, valid, vl, N, 80, 0};
  pthread_t th;
  REQUIRE(!pthread_create(&th, NULL, stream_main, &st), "publisher");
  char results[220];
  snprintf(results, sizeof(results), "%s.in.results", prefix);
  record *recs;
  size_t dups, n, before = 0;
  /* Kill a midway: a third of the stream answered, the rest still coming. */
  for (long long stop_at = tp_now_ms() + 60000; tp_now_ms() < stop_at && before < N / 3;) {
    n = consume_all(bootstrap, results, 100, &recs);
    before = distinct_ids(recs, n, &dups);
    records_free(recs, n);
  }
  int assigned_before = log_count(log_b, "ingest_rebalance");
  long long killed = tp_now_ms();
  kill(a, SIGKILL);
  tp_stop(a, 0, 5000);
  fprintf(stderr, "failover: instance a killed with %zu of %d records answered\n", before, N);
  /* The survivor's takeover: its next rebalance that gives it all six. */
  long long took = -1;
  for (long long end = killed + 60000; tp_now_ms() < end && took < 0; usleep(50000))
    if (log_count(log_b, "ingest_rebalance") > assigned_before && log_count(log_b, "assigned 6 partition"))
      took = tp_now_ms() - killed;
  CHECK(took >= 0, "instance b took over the partitions of instance a");
  fprintf(stderr, "failover: instance b had all six partitions %lld ms after the SIGKILL\n", took);
  void *prc = NULL;
  pthread_join(th, &prc);
  CHECK(prc == NULL, "the national system published all %d records", N);
  size_t done = wait_distinct(bootstrap, results, N, 90000);
  CHECK(done == N, "results for %zu of %d records", done, N);
  expect_once(bootstrap, results, N, "each record answered once");
  char routed[200];
  snprintf(routed, sizeof(routed), "%s.VN.declaration.priority", prefix);
  expect_once(bootstrap, routed, N, "routed to Vietnam");
  /* The dead instance comes back, catches up from the status topic, and both
   * answer the same for every consignment. */
  a = start_gateway(cfg_a, port_a, log_a);
  REQUIRE(a > 0, "instance a restarts");
  int same = 0, first_diff = -1;
  char *va = NULL, *vb = NULL;
  for (int i = 0; i < N; i++) {
    char path[200];
    snprintf(path, sizeof(path), "/v1/shipments/6TH0105536000123-F%06d", i);
    char *ra = NULL, *rb = NULL, *ca_ = NULL, *cb_ = NULL;
    /* Each side may still be applying the last events: the same answer,
     * with ROUTED in it, within a while. */
    for (long long end = tp_now_ms() + 20000; tp_now_ms() < end; usleep(100000)) {
      free(ra), free(rb), free(ca_), free(cb_);
      ra = wait_get(port_a, path, "ROUTED", 2000);
      rb = wait_get(port_b, path, "ROUTED", 2000);
      ca_ = ra ? stable_shipment(ra) : NULL;
      cb_ = rb ? stable_shipment(rb) : NULL;
      if (ca_ && cb_ && !strcmp(ca_, cb_)) break;
    }
    if (ca_ && cb_ && !strcmp(ca_, cb_)) same++;
    else if (first_diff < 0) {
      first_diff = i;
      va = ca_, vb = cb_;
      ca_ = cb_ = NULL;
    }
    free(ra), free(rb), free(ca_), free(cb_);
  }
  CHECK(same == N, "the two status stores agree on %d of %d consignments; first difference at %d:\n  a %.500s\n  b %.500s",
        same, N, first_diff, va ? va : "-", vb ? vb : "-");
  free(va), free(vb);
  free(valid);
  CHECK(tp_stop(b, SIGTERM, 15000) == 0, "instance b graceful exit");
  free(cfg_b);
  return test_end(a, cfg_a, dir);
}

/* A message larger than Kafka takes (here message.max.bytes 5000, below the
 * signed 4.8 KB declaration) is refused for good: 413 with the reason, never
 * a 503 that has the sender retry for ever; a smaller one still goes through. */
static int test_toolarge(void) {
  char bootstrap[256];
  REQUIRE(!fixture_bootstrap(bootstrap, sizeof(bootstrap)), "no broker bootstrap in $LMCGW_TEST_KAFKA_DIR");
  char prefix[64], log[600];
  char *dir = test_dir("it-toolarge", "tl", prefix, log);
  char *cfg = write_config(dir, bootstrap, prefix, 10000);
  setenv("LMCGW_KAFKA_MESSAGE_MAX_BYTES", "5000", 1);
  int port = tp_free_port();
  pid_t pid = start_gateway(cfg, port, log);
  unsetenv("LMCGW_KAFKA_MESSAGE_MAX_BYTES");
  REQUIRE(pid > 0, "gateway start");
  size_t len;
  char *b = example("declarations/th-vn-durian-export.xml", &len);
  tc_response r;
  char ra[32];
  REQUIRE(!post(port, client_cert, client_key, "application/xml", b, len, NULL, &r), "%s", r.error);
  CHECK(r.status == 413 && r.body && strstr(r.body, "too_large_for_kafka") && !tc_header(&r, "retry-after", ra, sizeof(ra)),
        "too large for Kafka: %d %s", r.status, r.body ? r.body : "");
  tc_response_free(&r);
  free(b);
  /* The Thai customs' acceptance (840 bytes) fits once signed. */
  b = example("responses/th-vn-durian-accepted.xml", &len);
  REQUIRE(!post(port, role_cert[R_CUSTOMS], role_key[R_CUSTOMS], "application/xml", b, len,
                "X-UCR: 6TH0105536000123-DUR0001\r\n", &r), "%s", r.error);
  CHECK(r.status == 202, "a small message goes through: %d %s", r.status, r.body ? r.body : "");
  tc_response_free(&r);
  free(b);
  return test_end(pid, cfg, dir);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_gateway roundtrip|formats|access|hostile|signatures|ingest|ui|exchange|failover|toolarge|outage|shutdown|dev\n");
    return 2;
  }
  bin = env_or_die("LMCGW_BIN");
  signal(SIGPIPE, SIG_IGN);
  int rc;
  if (!strcmp(argv[1], "dev")) return test_dev();
  pki_paths();
  if (!strcmp(argv[1], "roundtrip")) rc = test_roundtrip();
  else if (!strcmp(argv[1], "outage")) rc = test_outage();
  else if (!strcmp(argv[1], "shutdown")) rc = test_shutdown();
  else if (!strcmp(argv[1], "formats")) rc = test_formats();
  else if (!strcmp(argv[1], "access")) rc = test_access();
  else if (!strcmp(argv[1], "hostile")) rc = test_hostile();
  else if (!strcmp(argv[1], "signatures")) rc = test_signatures();
  else if (!strcmp(argv[1], "ingest")) rc = test_ingest();
  else if (!strcmp(argv[1], "ui")) rc = test_ui();
  else if (!strcmp(argv[1], "exchange")) rc = test_exchange();
  else if (!strcmp(argv[1], "failover")) rc = test_failover();
  else if (!strcmp(argv[1], "toolarge")) rc = test_toolarge();
  else {
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
  }
  fprintf(stderr, "%s: %s (%d failure(s))\n", argv[1], rc ? "FAILED" : "passed", failures);
  return rc;
}
