/* Delivery worker (gateway/delivery): URL parsing, the mutual-TLS client, and
 * the worker end to end against librdkafka's in-process mock cluster and a
 * TLS HTTP server thread in this test whose answers each test scripts.
 * Waits are bounded by generous limits; nothing asserts how fast anything is
 * (the breaker test asserts a lower bound the breaker guarantees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "delivery/client.h"
#include "delivery/delivery.h"
#include "metrics/metrics.h"
#include "endpoint.h"
#include "testutil.h"

static char *g_pki;

static const char *pki(const char *name) {
  static char paths[8][512];
  static int i;
  char *p = paths[i++ % 8];
  snprintf(p, 512, "%s/%s", g_pki, name);
  return p;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- status events ----------------------------------------------------------------- */

typedef struct events {
  pthread_mutex_t mu;
  struct {
    char stage[24], id[64], ucr[64], doctype[64], detail[400];
  } e[256];
  size_t n;
} events;

static void on_status(void *ud, const char *stage, const char *id, const char *ucr, const char *doctype,
                      const char *detail) {
  events *ev = ud;
  pthread_mutex_lock(&ev->mu);
  if (ev->n < 256) {
    snprintf(ev->e[ev->n].stage, sizeof(ev->e[0].stage), "%s", stage);
    snprintf(ev->e[ev->n].id, sizeof(ev->e[0].id), "%s", id);
    snprintf(ev->e[ev->n].ucr, sizeof(ev->e[0].ucr), "%s", ucr);
    snprintf(ev->e[ev->n].doctype, sizeof(ev->e[0].doctype), "%s", doctype);
    snprintf(ev->e[ev->n].detail, sizeof(ev->e[0].detail), "%s", detail);
    ev->n++;
  }
  pthread_mutex_unlock(&ev->mu);
}

static size_t ev_count(events *ev, const char *stage, const char *id) {
  size_t n = 0;
  pthread_mutex_lock(&ev->mu);
  for (size_t i = 0; i < ev->n; i++) n += !strcmp(ev->e[i].stage, stage) && (!id || !strcmp(ev->e[i].id, id));
  pthread_mutex_unlock(&ev->mu);
  return n;
}

/* Polls cond every 10 ms for up to 30 s; the limit only keeps a broken build from hanging. */
#define WAIT_FOR(cond)                                                   \
  do {                                                                   \
    uint64_t t_end_ = now_ms() + 30000;                                  \
    while (!(cond) && now_ms() < t_end_) usleep(10000);                  \
    assert_true(cond);                                                   \
  } while (0)

/* ---- Kafka ------------------------------------------------------------------------------ */

#define TOPIC "lmcgw.VN.declaration"

typedef struct kfix {
  rd_kafka_t *p; /* owns the mock cluster */
  char bootstrap[256];
  events ev;
  tsrv *srv;
  char url[128];
} kfix;

static void kafka_up(kfix *k, int partitions) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(c, "test.mock.num.brokers", "1", es, sizeof(es)), RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(c, "log_level", "3", es, sizeof(es)), RD_KAFKA_CONF_OK);
  k->p = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  assert_non_null(k->p);
  rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(k->p);
  assert_non_null(mc);
  snprintf(k->bootstrap, sizeof(k->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(mc));
  assert_int_equal(rd_kafka_mock_topic_create(mc, TOPIC, partitions, 1), 0);
  assert_int_equal(rd_kafka_mock_topic_create(mc, "lmcgw.dlq", 1, 1), 0);
  /* Not destinations of VN, though the prefix and country match. */
  assert_int_equal(rd_kafka_mock_topic_create(mc, "lmcgw.TH.declaration", 1, 1), 0);
  pthread_mutex_init(&k->ev.mu, NULL);
}

static void kafka_down(kfix *k) {
  rd_kafka_flush(k->p, 5000);
  rd_kafka_destroy(k->p);
  pthread_mutex_destroy(&k->ev.mu);
}

static void produce(kfix *k, const char *topic, int32_t partition, const char *id, const char *ucr, const char *body) {
  rd_kafka_headers_t *h = rd_kafka_headers_new(12);
  rd_kafka_header_add(h, "lmcgw-message-id", -1, id, -1);
  rd_kafka_header_add(h, "lmcgw-ucr", -1, ucr, -1);
  rd_kafka_header_add(h, "lmcgw-sender", -1, "TH/Siam Trade Portal", -1);
  rd_kafka_header_add(h, "lmcgw-origin", -1, "TH", -1);
  rd_kafka_header_add(h, "lmcgw-destination", -1, "VN", -1);
  rd_kafka_header_add(h, "lmcgw-document-type", -1, "declaration", -1);
  rd_kafka_header_add(h, "lmcgw-format", -1, "cusdec", -1);
  rd_kafka_header_add(h, "lmcgw-source-format", -1, "wco-dec", -1);
  rd_kafka_header_add(h, "lmcgw-received-at", -1, "2026-11-29T04:30:00.123Z", -1);
  rd_kafka_header_add(h, "content-type", -1, "application/edifact", -1);
  rd_kafka_header_add(h, "lmcgw-jws", -1, "eyJhbGciOiJFUzI1NiJ9..c2ln", -1);
  assert_int_equal(rd_kafka_producev(k->p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                     RD_KAFKA_V_KEY(ucr, strlen(ucr)), RD_KAFKA_V_VALUE((void *)body, strlen(body)),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
                   0);
  assert_int_equal(rd_kafka_flush(k->p, 10000), 0);
}

static gw_delivery_config dcfg(kfix *k) {
  gw_delivery_config c = {.enabled = 1,
                          .country = "VN",
                          .topic_prefix = "lmcgw",
                          .instance_id = "test",
                          .endpoint = k->url,
                          .ca = pki("ca.pem"),
                          .cert = pki("vn-customs.pem"),
                          .key = pki("vn-customs.key"),
                          .timeout_ms = 3000,
                          .retry_initial_ms = 5,
                          .retry_max_ms = 20,
                          .deadline_s = 600,
                          .breaker_failures = 1000,
                          .breaker_open_ms = 100,
                          .workers = 1,
                          .bootstrap = k->bootstrap,
                          .on_status = on_status,
                          .ud = &k->ev};
  /* The mock coordinator holds a rejoin for the rebalance timeout of the
   * member that left (max.poll.interval.ms): keep it short here, so a
   * restarted worker joins in seconds. */
  c.max_poll_interval_ms = 6000;
  static char k0[] = "session.timeout.ms", v0[] = "6000", k1[] = "debug", v1[128];
  static gw_kv kv[2] = {{k0, v0}, {k1, v1}};
  c.kafka = kv;
  c.n_kafka = 1;
  /* DELIVERY_KDEBUG=cgrp,... turns on librdkafka's debug logs of the workers. */
  if (getenv("DELIVERY_KDEBUG")) {
    snprintf(v1, sizeof(v1), "%s", getenv("DELIVERY_KDEBUG"));
    c.n_kafka = 2;
    gw_log_set_level(GW_LOG_DEBUG);
  }
  return c;
}

static gw_delivery *start(const gw_delivery_config *c) {
  gw_delivery *d = NULL;
  gw_error err = {0};
  int rc = gw_delivery_start(c, &d, &err);
  if (rc) fail_msg("gw_delivery_start: %s", err.msg);
  return d;
}

/* The group's committed offset, read by another consumer of the group. */
static int64_t committed(kfix *k, const char *topic, int32_t partition) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", k->bootstrap, es, sizeof(es));
  rd_kafka_conf_set(c, "group.id", "lmcgw.delivery.VN", es, sizeof(es));
  rd_kafka_conf_set(c, "log_level", "3", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof(es));
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, partition);
  assert_int_equal(rd_kafka_committed(rk, l, 20000), 0);
  int64_t off = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
  return off;
}

typedef struct dlq_rec {
  char payload[256], key[64];
  size_t len, key_len;
  rd_kafka_headers_t *h;
} dlq_rec;

/* Reads the first record of the dead-letter topic (the simple consumer API:
 * no group involved). A copy: librdkafka's destroy waits for its messages. */
static void read_dlq(kfix *k, dlq_rec *out) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", k->bootstrap, es, sizeof(es));
  rd_kafka_conf_set(c, "log_level", "3", es, sizeof(es));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof(es));
  assert_non_null(rk);
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, "lmcgw.dlq", NULL);
  assert_int_equal(rd_kafka_consume_start(t, 0, RD_KAFKA_OFFSET_BEGINNING), 0);
  rd_kafka_message_t *m = NULL;
  uint64_t end = now_ms() + 30000;
  while (now_ms() < end) {
    m = rd_kafka_consume(t, 0, 200);
    if (m && !m->err) break;
    if (m) rd_kafka_message_destroy(m);
    m = NULL;
  }
  assert_non_null(m);
  rd_kafka_headers_t *h = NULL;
  assert_int_equal(rd_kafka_message_headers(m, &h), 0);
  out->h = rd_kafka_headers_copy(h);
  out->len = m->len < sizeof(out->payload) ? m->len : sizeof(out->payload);
  memcpy(out->payload, m->payload, out->len);
  out->key_len = m->key_len < sizeof(out->key) ? m->key_len : sizeof(out->key);
  memcpy(out->key, m->key, out->key_len);
  rd_kafka_message_destroy(m);
  rd_kafka_consume_stop(t, 0);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
}

static const char *mhdr(const dlq_rec *m, const char *name, char *out, size_t cap) {
  const void *v = NULL;
  size_t n = 0;
  out[0] = 0;
  if (!rd_kafka_header_get_last(m->h, name, &v, &n) && v)
    snprintf(out, cap, "%.*s", (int)n, (const char *)v);
  return out;
}

static void fix_up(kfix *k, int partitions, int dflt, const int *script, size_t n) {
  memset(k, 0, sizeof(*k));
  kafka_up(k, partitions);
  k->srv = srv_start(g_pki, "127.0.0.1", 0, dflt, script, n);
  snprintf(k->url, sizeof(k->url), "https://localhost:%d/v1/messages", k->srv->port);
}

static void fix_down(kfix *k) {
  if (k->srv) srv_stop(k->srv);
  kafka_down(k);
}

/* ---- URL and topics --------------------------------------------------------------------- */

static void url_parsing(void **state) {
  (void)state;
  gw_delivery_url u;
  gw_error err = {0};
  assert_int_equal(gw_delivery_url_parse("https://vn-customs.example:8443/v1/messages?x=1", 0, &u, &err), 0);
  assert_true(u.https);
  assert_string_equal(u.host, "vn-customs.example");
  assert_string_equal(u.port, "8443");
  assert_string_equal(u.path, "/v1/messages?x=1");
  assert_int_equal(gw_delivery_url_parse("HTTPS://host", 0, &u, &err), 0);
  assert_string_equal(u.port, "443");
  assert_string_equal(u.path, "/");
  assert_int_equal(gw_delivery_url_parse("https://[::1]:9/in", 0, &u, &err), 0);
  assert_string_equal(u.host, "::1");
  assert_string_equal(u.port, "9");
  assert_int_equal(gw_delivery_url_parse("http://127.0.0.1:8080/in", 1, &u, &err), 0);
  assert_false(u.https);

  static const struct {
    const char *url, *why;
  } bad[] = {
      {"", "empty"},
      {"http://127.0.0.1/in", "unencrypted"},
      {"ftp://host/x", "scheme 'ftp'"},
      {"vn-customs.example/in", "not absolute"},
      {"https://user:pw@host/x", "user information"},
      {"https:///x", "no host"},
      {"https://:443/x", "no host"},
      {"https://host:0/x", "port '0'"},
      {"https://host:65536/x", "port '65536'"},
      {"https://host:12a/x", "port '12a'"},
      {"https://host:/x", "port ''"},
      {"https://ho st/x", "space"},
      {"https://host/x#frag", "fragment"},
      {"https://ho%73t/x", "'%'"},
      {"https://[::1/x", "closing ']'"},
      {"https://[zz]/x", "not an IPv6"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gw_error_clear(&err);
    assert_int_equal(gw_delivery_url_parse(bad[i].url, 0, &u, &err), GW_EINVAL);
    if (!strstr(err.msg, bad[i].why)) fail_msg("'%s': expected '%s' in: %s", bad[i].url, bad[i].why, err.msg);
  }
}

static void topics(void **state) {
  (void)state;
  char *re = gw_delivery_topic_regex("lm.c-gw", "VN");
  assert_string_equal(re, "^lm\\.c-gw\\.VN\\.[a-z][a-z0-9_]*(\\.priority)?$");
  regex_t rx;
  assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
  static const struct {
    const char *topic;
    int match;
    const char *doctype;
  } cases[] = {
      {"lm.c-gw.VN.declaration", 1, "declaration"},
      {"lm.c-gw.VN.sps_certificate.priority", 1, "sps_certificate"},
      {"lm.c-gw.VN.dlq", 0, NULL}, /* the regex lets these by; the match refuses them */
      {"lm.c-gw.VN.status", 0, NULL},
      {"lm.c-gw.VN.in", 0, NULL},
      {"lm.c-gw.TH.declaration", 0, NULL},
      {"lmXc-gw.VN.declaration", 0, NULL}, /* the prefix's dot is escaped */
      {"lm.c-gw.VNX.declaration", 0, NULL},
      {"lm.c-gw.VN.declaration.other", 0, NULL},
      {"lm.c-gw.VN.Declaration", 0, NULL},
      {"lm.c-gw.VN.", 0, NULL},
      {"lm.c-gw.dlq", 0, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char dt[64] = "";
    int m = gw_delivery_topic_match("lm.c-gw", "VN", cases[i].topic, dt, sizeof(dt));
    if (m != cases[i].match) fail_msg("%s: match %d", cases[i].topic, m);
    if (m) assert_string_equal(dt, cases[i].doctype);
    int rm = regexec(&rx, cases[i].topic, 0, NULL, 0) == 0;
    if (m && !rm) fail_msg("%s matches but the subscription regex misses it", cases[i].topic);
  }
  assert_int_equal(regexec(&rx, "lmXc-gw.VN.declaration", 0, NULL, 0), REG_NOMATCH);
  regfree(&rx);
  free(re);
}

/* ---- the client alone ----------------------------------------------------------------------- */

static gw_delivery_client *client_for(const char *url, const char *cert, const char *key, gw_error *err, int *rc) {
  gw_delivery_client_config cc = {.url = url, .ca_file = pki("ca.pem"), .cert_file = cert, .key_file = key,
                                  .timeout_ms = 5000, .cancel_fd = -1};
  gw_delivery_client *c = NULL;
  *rc = gw_delivery_client_new(&cc, &c, err);
  return c;
}

static void client_post_keeps_alive(void **state) {
  (void)state;
  int script[] = {202, 422};
  tsrv *s = srv_start(g_pki, "127.0.0.1", 0, 200, script, 2);
  char url[128];
  snprintf(url, sizeof(url), "https://localhost:%d/v1/in", s->port);
  gw_error err = {0};
  int rc;
  gw_delivery_client *c = client_for(url, pki("vn-customs.pem"), pki("vn-customs.key"), &err, &rc);
  assert_int_equal(rc, 0);
  gw_delivery_header h[] = {{"X-Message-Id", "m-1"}, {"X-UCR", "UCR1"}, {"X-Lmcgw-Jws", NULL}};
  gw_delivery_response r;
  rc = gw_delivery_client_post(c, "application/xml", h, 3, "<a/>", 4, &r, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(r.status, 202);
  assert_string_equal(r.body, "ok");
  gw_delivery_response_free(&r);
  rc = gw_delivery_client_post(c, "application/xml", h, 2, "<b/>", 4, &r, &err);
  assert_int_equal(rc, 0);
  assert_int_equal(r.status, 422);
  assert_non_null(strstr(r.body, "LRN unknown"));
  gw_delivery_response_free(&r);
  pthread_mutex_lock(&s->mu);
  assert_int_equal(s->n_reqs, 2);
  assert_int_equal(s->accepts, 1); /* one connection, kept alive */
  assert_string_equal(s->reqs[0].id, "m-1");
  assert_string_equal(s->reqs[0].ucr, "UCR1");
  assert_string_equal(s->reqs[0].ctype, "application/xml");
  assert_string_equal(s->reqs[0].path, "/v1/in");
  assert_string_equal(s->reqs[0].body, "<a/>");
  assert_string_equal(s->reqs[0].jws, "");
  pthread_mutex_unlock(&s->mu);
  /* A header value that would split the request is refused before sending. */
  gw_delivery_header evil[] = {{"X-UCR", "A\r\nX-Injected: 1"}};
  assert_int_equal(gw_delivery_client_post(c, "application/xml", evil, 1, "x", 1, &r, &err), GW_EINVAL);
  gw_delivery_client_free(c);
  srv_stop(s);
}

static void client_tls_failures(void **state) {
  (void)state;
  /* The server's certificate names localhost and 127.0.0.1; reached as
   * 127.0.0.2 (loopback too) it must be refused. */
  tsrv *s = srv_start(g_pki, "127.0.0.2", 0, 200, NULL, 0);
  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.2:%d/in", s->port);
  gw_error err = {0};
  int rc;
  gw_delivery_client *c = client_for(url, pki("vn-customs.pem"), pki("vn-customs.key"), &err, &rc);
  assert_int_equal(rc, 0);
  gw_delivery_response r;
  rc = gw_delivery_client_post(c, "text/plain", NULL, 0, "x", 1, &r, &err);
  assert_int_equal(rc, GW_ETLS);
  if (!strstr(err.msg, "certificate was refused") || !strstr(err.msg, "mismatch")) fail_msg("%s", err.msg);
  gw_delivery_client_free(c);
  assert_int_equal(srv_count(s), 0);
  srv_stop(s);

  /* Without a client certificate the national system refuses us. */
  s = srv_start(g_pki, "127.0.0.1", 0, 200, NULL, 0);
  snprintf(url, sizeof(url), "https://localhost:%d/in", s->port);
  c = client_for(url, NULL, NULL, &err, &rc);
  assert_int_equal(rc, 0);
  rc = gw_delivery_client_post(c, "text/plain", NULL, 0, "x", 1, &r, &err);
  assert_true(rc == GW_ETLS || rc == GW_EIO);
  assert_int_equal(srv_count(s), 0);
  gw_delivery_client_free(c);
  srv_stop(s);

  /* Nobody listening. */
  snprintf(url, sizeof(url), "https://localhost:%d/in", srv_free_port());
  c = client_for(url, pki("vn-customs.pem"), pki("vn-customs.key"), &err, &rc);
  assert_int_equal(rc, 0);
  rc = gw_delivery_client_post(c, "text/plain", NULL, 0, "x", 1, &r, &err);
  assert_int_equal(rc, GW_EIO);
  if (!strstr(err.msg, "refused")) fail_msg("%s", err.msg);
  gw_delivery_client_free(c);

  /* Bad files say which. */
  gw_delivery_client_config cc = {.url = url, .ca_file = "/nonexistent/ca.pem", .timeout_ms = 100, .cancel_fd = -1};
  assert_int_equal(gw_delivery_client_new(&cc, &c, &err), GW_ETLS);
  assert_non_null(strstr(err.msg, "delivery.ca /nonexistent/ca.pem"));
  cc.ca_file = NULL;
  assert_int_equal(gw_delivery_client_new(&cc, &c, &err), GW_ECONFIG);
  cc.ca_file = pki("ca.pem");
  cc.cert_file = pki("vn-customs.pem");
  cc.key_file = pki("client.key");
  assert_int_equal(gw_delivery_client_new(&cc, &c, &err), GW_ETLS);
  assert_non_null(strstr(err.msg, "mismatch"));
}

/* ---- the worker ------------------------------------------------------------------------------ */

static void delivered_once_and_committed(void **state) {
  (void)state;
  kfix k;
  fix_up(&k, 1, 200, NULL, 0);
  produce(&k, "lmcgw.TH.declaration", 0, "not-ours", "UCR-X", "<x/>");
  produce(&k, TOPIC, 0, "m-1", "UCR-1", "<CUSDEC/>");
  gw_delivery_config c = dcfg(&k);
  gw_delivery *d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", "m-1") == 1);
  gw_delivery_stop(d);
  assert_int_equal(srv_count(k.srv), 1);
  req *r = &k.srv->reqs[0];
  assert_string_equal(r->id, "m-1");
  assert_string_equal(r->ucr, "UCR-1");
  assert_string_equal(r->ctype, "application/edifact");
  assert_string_equal(r->doctype, "declaration");
  assert_string_equal(r->origin, "TH");
  assert_string_equal(r->format, "cusdec");
  assert_string_equal(r->jws, "eyJhbGciOiJFUzI1NiJ9..c2ln");
  assert_string_equal(r->sig, ""); /* absent in the record: not sent */
  assert_string_equal(r->body, "<CUSDEC/>");
  assert_string_equal(r->path, "/v1/messages");
  assert_int_equal(ev_count(&k.ev, "DELIVERY_FAILED", NULL), 0);
  assert_string_equal(k.ev.e[0].ucr, "UCR-1");
  assert_string_equal(k.ev.e[0].doctype, "declaration");
  assert_non_null(strstr(k.ev.e[0].detail, "200"));
  /* Committed past it: another consumer of the group starts after it. */
  assert_int_equal(committed(&k, TOPIC, 0), 1);
  fix_down(&k);
}

static void down_then_up_in_order(void **state) {
  (void)state;
  kfix k;
  memset(&k, 0, sizeof(k));
  kafka_up(&k, 2);
  int port = srv_free_port();
  snprintf(k.url, sizeof(k.url), "https://localhost:%d/v1/messages", port);
  const char *ids[] = {"a-1", "a-2", "a-3", "b-1", "b-2"};
  for (int i = 0; i < 3; i++) produce(&k, TOPIC, 0, ids[i], "UCR-A", ids[i]);
  for (int i = 3; i < 5; i++) produce(&k, TOPIC, 1, ids[i], "UCR-B", ids[i]);
  gw_delivery_config c = dcfg(&k);
  gw_delivery *d = start(&c);
  /* Connection refused: the first failure is reported once. */
  WAIT_FOR(ev_count(&k.ev, "DELIVERY_FAILED", NULL) >= 1);
  k.srv = srv_start(g_pki, "127.0.0.1", port, 200, NULL, 0);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", NULL) == 5);
  gw_delivery_stop(d);
  for (int i = 0; i < 5; i++) assert_int_equal(srv_ok_with_id(k.srv, ids[i]), 1);
  assert_int_equal(srv_count(k.srv), 5);
  /* Per partition (per UCR), the endpoint saw them in order. */
  const char *last_a = "", *last_b = "";
  for (size_t i = 0; i < k.srv->n_reqs; i++) {
    const char *id = k.srv->reqs[i].id;
    const char **last = id[0] == 'a' ? &last_a : &last_b;
    if (strcmp(id, *last) <= 0) fail_msg("%s after %s", id, *last);
    *last = id;
  }
  assert_int_equal(ev_count(&k.ev, "DELIVERY_FAILED", NULL), ev_count(&k.ev, "DELIVERY_FAILED", "a-1") +
                                                                  ev_count(&k.ev, "DELIVERY_FAILED", "b-1"));
  assert_int_equal(committed(&k, TOPIC, 0), 3);
  assert_int_equal(committed(&k, TOPIC, 1), 2);
  fix_down(&k);
}

static void retried_after_503(void **state) {
  (void)state;
  kfix k;
  int script[] = {503, 503, 503};
  fix_up(&k, 1, 200, script, 3);
  produce(&k, TOPIC, 0, "m-503", "UCR-5", "<x/>");
  gw_delivery_config c = dcfg(&k);
  gw_delivery *d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", "m-503") == 1);
  gw_delivery_stop(d);
  assert_int_equal(srv_count(k.srv), 4);
  for (int i = 0; i < 4; i++) assert_string_equal(k.srv->reqs[i].id, "m-503");
  /* Once for the first failed attempt, not for every retry. */
  assert_int_equal(ev_count(&k.ev, "DELIVERY_FAILED", "m-503"), 1);
  assert_non_null(strstr(k.ev.e[0].detail, "503"));
  assert_non_null(strstr(k.ev.e[1].detail, "after 4 attempt(s)"));
  assert_int_equal(committed(&k, TOPIC, 0), 1);
  fix_down(&k);
}

static void refused_422_dead_lettered(void **state) {
  (void)state;
  kfix k;
  int script[] = {422};
  fix_up(&k, 1, 200, script, 1);
  produce(&k, TOPIC, 0, "m-422", "UCR-4", "<bad/>");
  produce(&k, TOPIC, 0, "m-next", "UCR-4", "<good/>");
  uint64_t dl0 = gw_metrics_delivery_count(GW_DEL_DEAD_LETTERED);
  gw_delivery_config c = dcfg(&k);
  gw_delivery *d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", "m-next") == 1);
  gw_delivery_stop(d);
  assert_int_equal(srv_ok_with_id(k.srv, "m-422"), 0);
  assert_int_equal(srv_count(k.srv), 2); /* no retry of a refusal */
  assert_int_equal(ev_count(&k.ev, "DELIVERY_FAILED", "m-422"), 1);
  assert_non_null(strstr(k.ev.e[0].detail, "dead-lettered"));
  assert_int_equal(gw_metrics_delivery_count(GW_DEL_DEAD_LETTERED), dl0 + 1);
  dlq_rec rec, *m = &rec;
  read_dlq(&k, m);
  char v[512];
  assert_int_equal(m->len, 6);
  assert_memory_equal(m->payload, "<bad/>", 6);
  assert_int_equal(m->key_len, 5);
  assert_memory_equal(m->key, "UCR-4", 5);
  assert_string_equal(mhdr(m, "lmcgw-message-id", v, sizeof(v)), "m-422");
  assert_string_equal(mhdr(m, "lmcgw-received-at", v, sizeof(v)), "2026-11-29T04:30:00.123Z");
  assert_string_equal(mhdr(m, "content-type", v, sizeof(v)), "application/edifact");
  assert_string_equal(mhdr(m, "lmcgw-http-status", v, sizeof(v)), "422");
  assert_string_equal(mhdr(m, "lmcgw-delivery-source", v, sizeof(v)), TOPIC " [0] @0");
  mhdr(m, "lmcgw-errors", v, sizeof(v));
  assert_non_null(strstr(v, "{\"errors\":[{\"code\":\"delivery_refused\""));
  assert_non_null(strstr(v, "answered 422"));
  assert_non_null(strstr(v, "LRN unknown")); /* the endpoint's own words */
  rd_kafka_headers_destroy(m->h);
  assert_int_equal(committed(&k, TOPIC, 0), 2);
  fix_down(&k);
}

static void deadline_dead_lettered(void **state) {
  (void)state;
  kfix k;
  fix_up(&k, 1, 503, NULL, 0);
  produce(&k, TOPIC, 0, "m-late", "UCR-L", "<late/>");
  gw_delivery_config c = dcfg(&k);
  c.deadline_s = 1;
  gw_delivery *d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERY_FAILED", "m-late") == 2);
  gw_delivery_stop(d);
  assert_true(srv_count(k.srv) >= 1);
  assert_int_equal(srv_ok_with_id(k.srv, "m-late"), 0);
  assert_non_null(strstr(k.ev.e[1].detail, "dead-lettered"));
  assert_non_null(strstr(k.ev.e[1].detail, "deadline"));
  dlq_rec rec, *m = &rec;
  read_dlq(&k, m);
  char v[512];
  assert_int_equal(m->len, 7);
  assert_memory_equal(m->payload, "<late/>", 7);
  assert_string_equal(mhdr(m, "lmcgw-message-id", v, sizeof(v)), "m-late");
  assert_string_equal(mhdr(m, "lmcgw-http-status", v, sizeof(v)), "503");
  mhdr(m, "lmcgw-errors", v, sizeof(v));
  assert_non_null(strstr(v, "\"code\":\"delivery_failed\""));
  assert_non_null(strstr(v, "delivery.deadline_s"));
  rd_kafka_headers_destroy(m->h);
  assert_int_equal(committed(&k, TOPIC, 0), 1);
  fix_down(&k);
}

static void breaker_opens_then_half_open(void **state) {
  (void)state;
  kfix k;
  /* Three failures open it; the first trial fails and reopens it; the second succeeds. */
  int script[] = {503, 503, 503, 503};
  fix_up(&k, 1, 200, script, 4);
  produce(&k, TOPIC, 0, "m-br", "UCR-B", "<b/>");
  uint64_t opened0 = gw_metrics_delivery_count(GW_DEL_BREAKER_OPENED);
  gw_delivery_config c = dcfg(&k);
  c.breaker_failures = 3;
  c.breaker_open_ms = 600;
  gw_delivery *d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", "m-br") == 1);
  gw_delivery_stop(d);
  assert_int_equal(srv_count(k.srv), 5);
  assert_int_equal(gw_metrics_delivery_count(GW_DEL_BREAKER_OPENED), opened0 + 2);
  /* While open, no request: the breaker guarantees these gaps (a lower
   * bound, whatever the machine's speed). Backoff alone is at most 20 ms. */
  uint64_t *t = (uint64_t[]){k.srv->reqs[2].at, k.srv->reqs[3].at, k.srv->reqs[4].at};
  assert_true(t[1] - t[0] >= 600);
  assert_true(t[2] - t[1] >= 600);
  size_t len;
  char *text = gw_metrics_render(NULL, &len);
  assert_non_null(strstr(text, "lmcgw_delivery_breaker_opened_total "));
  assert_non_null(strstr(text, "lmcgw_delivery_attempts_total "));
  free(text);
  fix_down(&k);
}

static void stop_during_retries_then_restart(void **state) {
  (void)state;
  kfix k;
  fix_up(&k, 1, 503, NULL, 0);
  produce(&k, TOPIC, 0, "m-stop", "UCR-S", "<s/>");
  gw_delivery_config c = dcfg(&k);
  c.retry_initial_ms = 200; /* waits in backoff most of the time when stopped */
  c.retry_max_ms = 400;
  gw_delivery *d = start(&c);
  WAIT_FOR(srv_count(k.srv) >= 2);
  gw_delivery_stop(d);
  assert_int_equal(ev_count(&k.ev, "DELIVERED", NULL), 0);
  assert_int_equal(committed(&k, TOPIC, 0), RD_KAFKA_OFFSET_INVALID);
  /* The next worker of the group delivers it. */
  srv_set_default(k.srv, 200);
  d = start(&c);
  WAIT_FOR(ev_count(&k.ev, "DELIVERED", "m-stop") == 1);
  gw_delivery_stop(d);
  assert_int_equal(srv_ok_with_id(k.srv, "m-stop"), 1);
  assert_int_equal(committed(&k, TOPIC, 0), 1);
  fix_down(&k);
}

/* ---- configuration ------------------------------------------------------------------------ */

static int has_diag(const gw_config_diags *d, const char *key, const char *text) {
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->items[i].key, key) && strstr(d->items[i].msg, text)) return 1;
  return 0;
}

static void config_keys(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("delivery-config");
  char yaml[2048];
  snprintf(yaml, sizeof(yaml),
           "gateway: {country: VN, mock_kafka: true}\n"
           "http: {plain: true}\n"
           "delivery: {retry_initial_ms: 100, retry_max_ms: 50}\n"
           "kafka: {max.poll.interval.ms: '1000'}\n"
           "countries:\n  VN: {endpoint: 'https://vn.example/in'}\n");
  char *path = tu_write(dir, "a.yaml", yaml);
  gw_config cfg;
  gw_config_diags d = {0};
  gw_error err = {0};
  assert_int_not_equal(gw_config_load(&cfg, path, &d, &err), 0);
  assert_true(has_diag(&d, "delivery.ca", "is required"));
  assert_true(has_diag(&d, "delivery.cert", "mutual TLS"));
  assert_true(has_diag(&d, "delivery.retry_max_ms", "less than delivery.retry_initial_ms"));
  assert_true(has_diag(&d, "kafka.max.poll.interval.ms", "too short"));
  gw_delivery_config dc;
  assert_int_equal(gw_delivery_config_from(&cfg, &dc, &err), 0);
  assert_true(dc.enabled); /* auto: VN has an endpoint */
  assert_string_equal(dc.endpoint, "https://vn.example/in");
  assert_int_equal(dc.timeout_ms, 10000);
  assert_int_equal(dc.breaker_failures, 5);
  assert_int_equal(dc.max_poll_interval_ms, 1000);
  gw_config_free(&cfg);
  gw_config_diags_free(&d);
  free(path);

  snprintf(yaml, sizeof(yaml),
           "gateway: {country: VN, mock_kafka: true}\n"
           "http: {plain: true}\n"
           "tls: {cert: '%s', key: '%s'}\n"
           "delivery: {enabled: true, ca: '%s'}\n"
           "countries:\n  VN: {endpoint: 'http://vn.example/in'}\n",
           pki("server.pem"), pki("server.key"), pki("ca.pem"));
  path = tu_write(dir, "b.yaml", yaml);
  assert_int_not_equal(gw_config_load(&cfg, path, &d, &err), 0);
  assert_true(has_diag(&d, "countries.VN.endpoint", "unencrypted"));
  assert_int_equal(gw_delivery_config_from(&cfg, &dc, &err), 0);
  assert_string_equal(dc.cert, pki("server.pem")); /* tls.cert by default */
  assert_true(dc.max_poll_interval_ms >= 2 * (dc.timeout_ms + dc.retry_max_ms));
  gw_config_free(&cfg);
  gw_config_diags_free(&d);
  free(path);

  snprintf(yaml, sizeof(yaml), "gateway: {country: TH}\ndelivery: {enabled: maybe}\n");
  path = tu_write(dir, "c.yaml", yaml);
  assert_int_not_equal(gw_config_load(&cfg, path, &d, &err), 0);
  assert_true(has_diag(&d, "delivery.enabled", "true or false or auto"));
  gw_config_free(&cfg);
  gw_config_diags_free(&d);
  free(path);

  /* On, but TH has no endpoint. */
  snprintf(yaml, sizeof(yaml), "gateway: {country: TH}\ndelivery: {enabled: true}\n");
  path = tu_write(dir, "d.yaml", yaml);
  assert_int_not_equal(gw_config_load(&cfg, path, &d, &err), 0);
  assert_true(has_diag(&d, "delivery.enabled", "countries.TH.endpoint is not set"));
  assert_int_equal(gw_delivery_config_from(&cfg, &dc, &err), GW_ECONFIG);
  gw_config_free(&cfg);
  gw_config_diags_free(&d);
  free(path);

  tu_rmrf(dir);
  free(dir);
}

static int setup(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  g_pki = tu_mkdtemp("delivery-pki");
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "bash '%s/scripts/test-pki.sh' '%s' 2>/dev/null", LMCGW_SOURCE_DIR, g_pki);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_pki);
  free(g_pki);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(url_parsing),
      cmocka_unit_test(topics),
      cmocka_unit_test(config_keys),
      cmocka_unit_test(client_post_keeps_alive),
      cmocka_unit_test(client_tls_failures),
      cmocka_unit_test(delivered_once_and_committed),
      cmocka_unit_test(down_then_up_in_order),
      cmocka_unit_test(retried_after_503),
      cmocka_unit_test(refused_422_dead_lettered),
      cmocka_unit_test(deadline_dead_lettered),
      cmocka_unit_test(breaker_opens_then_half_open),
      cmocka_unit_test(stop_during_retries_then_restart),
  };
  /* DELIVERY_TEST=name runs one test (cmocka's filter syntax). */
  if (getenv("DELIVERY_TEST")) cmocka_set_test_filter(getenv("DELIVERY_TEST"));
  return cmocka_run_group_tests_name("delivery", tests, setup, teardown);
}
