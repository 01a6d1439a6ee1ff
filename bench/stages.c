/* lmcgw bench — what each stage of the pipeline costs on one core, with the
 * gateway's own functions (lmcgw_core) and its configuration: HTTP parse
 * (llhttp over the whole request), SHA-256 + perishable sniff, XML parse,
 * XSD validation, decode (adapter to the canonical model), checks (code lists
 * and rules), encode for the destination's format, C14N + signing,
 * serialisation, the signed receipt, the status events, and the Kafka hand-off
 * (produce + delivery report against a real broker, acks=all, idempotent, as
 * the gateway's producer is configured). gw_process is also timed whole.
 *
 * Per stage: mean CPU µs per message (thread CPU time over the whole loop;
 * for Kafka, the process's CPU time: librdkafka works on its own threads),
 * p50 and p99 of the wall time of single runs, and messages/s on one core.
 * The sum of the stages on a message's path is the per-core "limit".
 *
 *   lmcgw-stages --config FILE [--bootstrap HOST:PORT] [--broker-pid PID]
 *                [--seconds S] --mix FILE:WEIGHT[:Header=value|...],...
 *
 * Output: a markdown table on stdout and one JSON line (also to --json). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "adapters/registry.h"
#include "config/config.h"
#include "core/error.h"
#include "http/http.h"
#include "http/http_int.h"
#include "kafka/producer.h"
#include "pipeline/check.h"
#include "pipeline/process.h"
#include "pipeline/sign.h"
#include "pipeline/xml.h"
#include "serve/status_feed.h"
#include "hist.h"
#include "procstat.h"

#define MAX_FILES 16

static double budget_s = 1.0; /* per stage and file */
static const char *json_path;

static uint64_t wall_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
static uint64_t thread_cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
static uint64_t process_cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void fail(const char *what, const char *why) {
  fprintf(stderr, "lmcgw-stages: %s: %s\n", what, why);
  exit(1);
}

/* ---- one stage's figures ---------------------------------------------------- */

typedef struct stage {
  const char *name;
  int on_path;     /* part of a message's path in this configuration (counts in the limit) */
  int skipped;     /* not run for this file (e.g. no encode: same format) */
  double cpu_us;   /* mean CPU per message */
  double p50_us, p99_us;
  uint64_t n;
  char note[160];
} stage;

#define MAX_STAGES 16
typedef struct file_result {
  char name[64];
  char path[1024];
  unsigned weight;
  char *req, *body;
  size_t req_len, body_len;
  char hdr_ucr[160], hdr_prio[32];
  stage st[MAX_STAGES];
  size_t n_st;
  double whole_us, receipt_us; /* gw_process and gw_process_receipt, whole */
  double sum_us;               /* the stages on the path */
  const char *kind, *in_format, *out_format;
} file_result;

/* Runs fn(ctx) repeatedly for the budget (at least 20 times): per-run wall
 * times into a histogram, CPU time over the loop for the mean. setup (may be
 * NULL) runs before each timed call, untimed. */
typedef void (*stage_fn)(void *ctx);
static void measure(stage *s, stage_fn setup, stage_fn fn, stage_fn teardown, void *ctx) {
  static hist h;
  memset(&h, 0, sizeof(h));
  uint64_t cpu = 0, n = 0;
  uint64_t until = wall_ns() + (uint64_t)(budget_s * 1e9);
  /* One untimed run: first-touch costs (lazy tables, page faults) are not the steady state. */
  if (setup) setup(ctx);
  fn(ctx);
  if (teardown) teardown(ctx);
  do {
    if (setup) setup(ctx);
    uint64_t c0 = thread_cpu_ns(), t0 = wall_ns();
    fn(ctx);
    uint64_t t1 = wall_ns(), c1 = thread_cpu_ns();
    if (teardown) teardown(ctx);
    h_add(&h, t1 - t0);
    cpu += c1 - c0;
    n++;
  } while (n < 20 || wall_ns() < until);
  s->n = n;
  s->cpu_us = (double)cpu / (double)n / 1e3;
  s->p50_us = (double)h_pct(&h, 50) / 1e3;
  s->p99_us = (double)h_pct(&h, 99) / 1e3;
}

/* ---- the stages ------------------------------------------------------------ */

typedef struct ctx {
  file_result *f;
  const gw_pipeline *pipe;
  const gw_config *cfg;
  gw_schemas *schemas;
  const gw_adapter *in_ad, *out_ad;
  xmlDocPtr doc;      /* parsed once, for the stages after parsing */
  xmlDocPtr work;     /* a copy a stage changes */
  gw_consignment model;
  gw_consignment decoded; /* decode's output, freed in teardown */
  gw_submission sub;
  gw_identity ident;
  gw_processed out;
  char *bytes;
  size_t len;
  llhttp_t parser;
  llhttp_settings_t settings;
  char *body_buf;
  size_t body_at;
  char hdr_buf[8192];
  size_t hdr_at;
} ctx;

/* As a server does: headers copied, the body gathered into one buffer. */
static int on_hdr(llhttp_t *p, const char *at, size_t len) {
  ctx *c = p->data;
  if (c->hdr_at + len < sizeof(c->hdr_buf)) memcpy(c->hdr_buf + c->hdr_at, at, len), c->hdr_at += len;
  return 0;
}
static int on_body(llhttp_t *p, const char *at, size_t len) {
  ctx *c = p->data;
  memcpy(c->body_buf + c->body_at, at, len);
  c->body_at += len;
  return 0;
}
static void st_http(void *v) {
  ctx *c = v;
  c->hdr_at = c->body_at = 0;
  llhttp_init(&c->parser, HTTP_REQUEST, &c->settings);
  c->parser.data = c;
  if (llhttp_execute(&c->parser, c->f->req, c->f->req_len) != HPE_OK || c->body_at != c->f->body_len)
    fail(c->f->name, "llhttp did not read the request");
}

static void st_digest(void *v) {
  ctx *c = v;
  unsigned char d[32];
  EVP_Digest(c->f->body, c->f->body_len, d, NULL, EVP_sha256(), NULL);
  volatile int p = gw_sniff_perishable(c->f->body, c->f->body_len);
  (void)p;
}

static void st_parse(void *v) {
  ctx *c = v;
  gw_problems pr = {0};
  xmlDocPtr d = NULL;
  if (gw_xml_parse(c->f->body, c->f->body_len, &d, &pr)) fail(c->f->name, pr.n ? pr.items[0].message : "does not parse");
  xmlFreeDoc(d);
  gw_problems_free(&pr);
}

static void st_validate(void *v) {
  ctx *c = v;
  gw_problems pr = {0};
  const gw_schema_cfg *which = NULL;
  if (gw_schemas_validate(c->schemas, c->doc, &which, &pr))
    fail(c->f->name, pr.n ? pr.items[0].message : "not valid against its schema");
  gw_problems_free(&pr);
}

static void st_decode(void *v) {
  ctx *c = v;
  gw_problems pr = {0};
  gw_adapter_input in = {c->f->body, c->f->body_len, c->doc, NULL};
  memset(&c->decoded, 0, sizeof(c->decoded));
  if (c->in_ad->decode(c->in_ad, &in, &c->decoded, &pr)) fail(c->f->name, pr.n ? pr.items[0].message : "does not decode");
  gw_model_normalize(&c->decoded);
  gw_problems_free(&pr);
}
static void td_decode(void *v) { gw_model_free(&((ctx *)v)->decoded); }

static void st_check(void *v) {
  ctx *c = v;
  gw_problems pr = {0};
  gw_check_message(&c->model, &pr);
  gw_problems_free(&pr);
}

static void st_encode(void *v) {
  ctx *c = v;
  gw_problems pr = {0};
  gw_encoded e = {0};
  if (gw_registry_encode(c->pipe->formats, c->out_ad, &c->model, 0, &e, &pr))
    fail(c->f->name, pr.n ? pr.items[0].message : "does not encode");
  gw_encoded_free(&e);
  gw_problems_free(&pr);
}

static void su_copy(void *v) {
  ctx *c = v;
  c->work = xmlCopyDoc(c->doc, 1);
  if (!c->work) fail("xmlCopyDoc", "out of memory");
}
static void td_copy(void *v) {
  ctx *c = v;
  xmlFreeDoc(c->work);
  c->work = NULL;
}
static void st_sign(void *v) {
  ctx *c = v;
  gw_error e = {0};
  if (gw_signer_sign(c->pipe->signer, c->work, &e)) fail("signing", e.msg);
}

/* Parsed from the bytes (a copy would not know where its root ends in them),
 * then signed, as the pipeline has it before the bytes go out. */
static void su_signed(void *v) {
  ctx *c = v;
  gw_problems p = {0};
  if (gw_xml_parse(c->f->body, c->f->body_len, &c->work, &p)) fail("XML parse", "failed");
  gw_problems_free(&p);
  gw_error e = {0};
  if (gw_signer_sign(c->pipe->signer, c->work, &e)) fail("signing", e.msg);
}
/* As gw_process_end: a document going out in the format it came in gets the
 * signature spliced into its bytes; the tree is serialised only otherwise. */
static void st_serialise(void *v) {
  ctx *c = v;
  char *b = NULL;
  size_t l = 0;
  int rc = c->out_ad == c->in_ad ? gw_xml_splice_last_child(c->work, c->f->body, c->f->body_len, &b, &l) : GW_ENOTFOUND;
  if (rc == GW_ENOTFOUND) rc = gw_xml_serialise(c->work, &b, &l);
  if (rc) fail("serialise", "failed");
  free(b);
}

static void st_whole(void *v) {
  ctx *c = v;
  gw_processed o;
  gw_process(c->pipe, &c->sub, &o);
  if (o.status) fail(c->f->name, o.problems.n ? o.problems.items[0].message : "refused by gw_process");
  gw_processed_free(&o);
}

static void st_receipt(void *v) {
  ctx *c = v;
  free(c->out.receipt);
  c->out.receipt = NULL;
  gw_process_receipt(c->pipe, &c->sub, &c->out);
  if (!c->out.receipt) fail(c->f->name, "no receipt");
}

/* What serve emits for an accepted message: received, validated, signed, routed. */
static void st_events(void *v) {
  ctx *c = v;
  static const gw_status_stage ev[] = {GW_STATUS_RECEIVED, GW_STATUS_VALIDATED, GW_STATUS_SIGNED, GW_STATUS_ROUTED};
  static const char *const detail[] = {"bench", NULL, "gateway signature: enveloped XMLDSig", "bench.VN.x [0] @1"};
  for (size_t i = 0; i < 4; i++) {
    gw_feed_record r;
    if (gw_feed_event(c->cfg, ev[i], &c->sub, &c->out, detail[i], &r)) fail("gw_feed_event", "failed");
    gw_feed_record_free(&r);
  }
}

/* ---- TLS: the server side of one request and its answer ------------------ */

/* A server SSL made from the gateway's own context (gw_http__tls_ctx_new)
 * and a client over memory BIOs, one handshake; then per message the server
 * decrypts the request's records and encrypts a 202's (≈ 1.5 KB JSON with
 * the receipt: 3 KB here). The client's side runs untimed. */
typedef struct tls_pair {
  SSL_CTX *sctx, *cctx;
  SSL *s, *c;
  BIO *s_in, *s_out, *c_in, *c_out;
  char *rbuf;
  size_t rcap;
  const file_result *f;
} tls_pair;

static void pump_bio(BIO *from, BIO *to) {
  char buf[65536];
  for (int n; (n = BIO_read(from, buf, sizeof(buf))) > 0;) BIO_write(to, buf, n);
}

static int tls_pair_open(tls_pair *t, const gw_config *cfg, const char *ccert, const char *ckey, gw_error *err) {
  memset(t, 0, sizeof(*t));
  gw_http_config hc = {.tls = 1, .cert_file = cfg->tls_cert, .key_file = cfg->tls_key,
                       .client_ca_file = cfg->tls_client_ca, .require_client_cert = cfg->tls_require_client_cert};
  int rc = gw_http__tls_ctx_new(&hc, &t->sctx, err);
  if (rc) return rc;
  t->cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(t->cctx, SSL_VERIFY_NONE, NULL);
  if (ccert && ckey &&
      (SSL_CTX_use_certificate_chain_file(t->cctx, ccert) != 1 || SSL_CTX_use_PrivateKey_file(t->cctx, ckey, SSL_FILETYPE_PEM) != 1))
    return GW_ERR(err, GW_ETLS, "client certificate %s / %s does not load", ccert, ckey);
  t->s = SSL_new(t->sctx), t->c = SSL_new(t->cctx);
  t->s_in = BIO_new(BIO_s_mem()), t->s_out = BIO_new(BIO_s_mem());
  t->c_in = BIO_new(BIO_s_mem()), t->c_out = BIO_new(BIO_s_mem());
  SSL_set_bio(t->s, t->s_in, t->s_out);
  SSL_set_bio(t->c, t->c_in, t->c_out);
  SSL_set_accept_state(t->s);
  SSL_set_connect_state(t->c);
  for (int i = 0; i < 20 && !(SSL_is_init_finished(t->s) && SSL_is_init_finished(t->c)); i++) {
    SSL_do_handshake(t->c);
    pump_bio(t->c_out, t->s_in);
    SSL_do_handshake(t->s);
    pump_bio(t->s_out, t->c_in);
  }
  if (!SSL_is_init_finished(t->s) || !SSL_is_init_finished(t->c)) {
    char why[256];
    ERR_error_string_n(ERR_get_error(), why, sizeof(why));
    return GW_ERR(err, GW_ETLS, "in-memory handshake failed: %s", why);
  }
  char tmp[4096];
  SSL_read(t->c, tmp, sizeof(tmp)); /* session tickets */
  return 0;
}

static void tls_pair_close(tls_pair *t) {
  SSL_free(t->s);
  SSL_free(t->c);
  SSL_CTX_free(t->sctx);
  SSL_CTX_free(t->cctx);
  free(t->rbuf);
}

static char tls_answer[3072];

static void su_tls(void *v) { /* the client sends the request */
  tls_pair *t = v;
  if (SSL_write(t->c, t->f->req, (int)t->f->req_len) <= 0) fail("TLS", "client write failed");
  pump_bio(t->c_out, t->s_in);
}
static void st_tls(void *v) {
  tls_pair *t = v;
  size_t got = 0;
  while (got < t->f->req_len) {
    int n = SSL_read(t->s, t->rbuf + got, (int)(t->rcap - got));
    if (n <= 0) fail("TLS", "server read failed");
    got += (size_t)n;
  }
  if (SSL_write(t->s, tls_answer, sizeof(tls_answer)) <= 0) fail("TLS", "server write failed");
}
static void td_tls(void *v) { /* the client takes the answer */
  tls_pair *t = v;
  pump_bio(t->s_out, t->c_in);
  char buf[4096];
  size_t got = 0;
  while (got < sizeof(tls_answer)) {
    int n = SSL_read(t->c, buf, sizeof(buf));
    if (n <= 0) fail("TLS", "client read failed");
    got += (size_t)n;
  }
}

/* A whole mutual-TLS handshake, the server's part timed. */
typedef struct hs_ctx {
  tls_pair *t;
  SSL *s, *c;
} hs_ctx;
static void su_hs(void *v) {
  hs_ctx *h = v;
  h->s = SSL_new(h->t->sctx), h->c = SSL_new(h->t->cctx);
  SSL_set_bio(h->s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_bio(h->c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_accept_state(h->s);
  SSL_set_connect_state(h->c);
  SSL_do_handshake(h->c); /* ClientHello */
  pump_bio(SSL_get_wbio(h->c), SSL_get_rbio(h->s));
}
static void st_hs(void *v) { /* ServerHello … Finished, then the client's certificate and Finished */
  hs_ctx *h = v;
  for (int i = 0; i < 10 && !SSL_is_init_finished(h->s); i++) {
    SSL_do_handshake(h->s);
    pump_bio(SSL_get_wbio(h->s), SSL_get_rbio(h->c));
    SSL_do_handshake(h->c);
    pump_bio(SSL_get_wbio(h->c), SSL_get_rbio(h->s));
  }
  if (!SSL_is_init_finished(h->s)) fail("TLS", "handshake failed");
}
static void td_hs(void *v) {
  hs_ctx *h = v;
  SSL_free(h->s);
  SSL_free(h->c);
}

/* ---- Kafka: produce + delivery report through the gateway's producer -------- */

static size_t kafka_pending;
static uint64_t kafka_failed;
static void on_dr(void *opaque, int err, const char *errstr, int maybe, int32_t partition, int64_t offset) {
  (void)opaque, (void)errstr, (void)maybe, (void)partition, (void)offset;
  kafka_pending--;
  if (err) kafka_failed++;
}

typedef struct kafka_result {
  double cpu_us, broker_cpu_us, wall_us;
  uint64_t n;
} kafka_result;

/* The message (signed payload, the gateway's headers) plus its four status
 * records, in batches of `batch` messages, each batch waited for. */
static kafka_result kafka_measure(uv_loop_t *loop, gw_kafka_producer *kp, const gw_config *cfg, ctx *c, size_t batch,
                                  long broker_pid) {
  kafka_result r = {0};
  /* Topics of their own: a gateway started later on this configuration would
   * otherwise catch up with these status records while it is measured. */
  char topic[300], status_topic[200];
  size_t pl = strlen(cfg->topic_prefix);
  if (strncmp(c->out.topic, cfg->topic_prefix, pl)) fail("kafka", "the routed topic does not start with the prefix");
  snprintf(topic, sizeof(topic), "%s-stages%s", cfg->topic_prefix, c->out.topic + pl);
  snprintf(status_topic, sizeof(status_topic), "%s-stages.status", cfg->topic_prefix);
  gw_feed_record ev[4];
  static const gw_status_stage evs[] = {GW_STATUS_RECEIVED, GW_STATUS_VALIDATED, GW_STATUS_SIGNED, GW_STATUS_ROUTED};
  for (int i = 0; i < 4; i++)
    if (gw_feed_event(cfg, evs[i], &c->sub, &c->out, "bench", &ev[i])) fail("gw_feed_event", "failed");
  unsigned long long b0 = 0, b1 = 0;
  int broker = broker_pid > 0 && !bench_cpu_ticks(broker_pid, &b0);
  uint64_t until = 0, cpu0 = 0, t0 = 0;
  for (int round = 0;; round++) {
    if (round == 1) { /* the first batch warms up: metadata, connections */
      cpu0 = process_cpu_ns();
      t0 = wall_ns();
      until = t0 + (uint64_t)(budget_s * 2e9);
      if (broker) bench_cpu_ticks(broker_pid, &b0);
    }
    for (size_t i = 0; i < batch; i++) {
      gw_error e = {0};
      if (gw_kafka_produce(kp, topic, c->out.ucr, strlen(c->out.ucr), c->out.payload, c->out.payload_len, c->out.headers,
                           c->out.n_headers, c, &e))
        fail("gw_kafka_produce", e.msg);
      kafka_pending++;
      for (int k = 0; k < 4; k++)
        if (gw_kafka_produce_grouped(kp, status_topic, ev[k].key, strlen(ev[k].key), ev[k].value, strlen(ev[k].value), &e))
          fail("gw_kafka_produce_grouped", e.msg);
    }
    while (kafka_pending) uv_run(loop, UV_RUN_ONCE);
    if (round >= 1) r.n += batch;
    if (round >= 1 && wall_ns() >= until) break;
  }
  r.cpu_us = (double)(process_cpu_ns() - cpu0) / (double)r.n / 1e3;
  r.wall_us = (double)(wall_ns() - t0) / (double)r.n / 1e3;
  if (broker && !bench_cpu_ticks(broker_pid, &b1))
    r.broker_cpu_us = (double)(b1 - b0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)r.n;
  for (int i = 0; i < 4; i++) gw_feed_record_free(&ev[i]);
  if (kafka_failed) fail("kafka", "some messages were not delivered");
  return r;
}

/* ---- files ------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail(path, "cannot open");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) fail(path, "cannot read");
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

/* "path:weight[:Header=value|...]", as loadgen reads it; X-UCR and X-Priority are used. */
static void parse_spec(file_result *f, const char *spec) {
  const char *c1 = strchr(spec, ':');
  size_t pl = c1 ? (size_t)(c1 - spec) : strlen(spec);
  snprintf(f->path, sizeof(f->path), "%.*s", (int)pl, spec);
  f->weight = c1 ? (unsigned)strtoul(c1 + 1, NULL, 10) : 1;
  if (!f->weight) f->weight = 1;
  const char *h = c1 ? strchr(c1 + 1, ':') : NULL;
  char extra[2048] = "";
  size_t el = 0;
  for (h = h ? h + 1 : NULL; h && *h;) {
    size_t l = strcspn(h, "|");
    const char *eq = memchr(h, '=', l);
    if (eq) {
      size_t nl = (size_t)(eq - h), vl = l - nl - 1;
      if (nl == 5 && !strncasecmp(h, "X-UCR", 5)) snprintf(f->hdr_ucr, sizeof(f->hdr_ucr), "%.*s", (int)vl, eq + 1);
      if (nl == 10 && !strncasecmp(h, "X-Priority", 10)) snprintf(f->hdr_prio, sizeof(f->hdr_prio), "%.*s", (int)vl, eq + 1);
      el += (size_t)snprintf(extra + el, sizeof(extra) - el, "%.*s: %.*s\r\n", (int)nl, h, (int)vl, eq + 1);
    }
    h += l;
    if (*h == '|') h++;
  }
  const char *base = strrchr(f->path, '/');
  base = base ? base + 1 : f->path;
  snprintf(f->name, sizeof(f->name), "%.*s", (int)strcspn(base, "."), base);
  f->body = slurp(f->path, &f->body_len);
  char head[4096];
  int hl = snprintf(head, sizeof(head),
                    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nContent-Type: application/xml\r\n"
                    "Content-Length: %zu\r\nUser-Agent: lmcgw-loadgen\r\n%s\r\n",
                    f->body_len, extra);
  f->req = malloc((size_t)hl + f->body_len);
  memcpy(f->req, head, (size_t)hl);
  memcpy(f->req + hl, f->body, f->body_len);
  f->req_len = (size_t)hl + f->body_len;
}

static stage *add_stage(file_result *f, const char *name, int on_path) {
  stage *s = &f->st[f->n_st++];
  memset(s, 0, sizeof(*s));
  s->name = name;
  s->on_path = on_path;
  return s;
}

/* Finds the adapter and XSD for the parsed document's root. */
static const gw_adapter *adapter_for(const gw_registry *r, xmlDocPtr doc, gw_schema_cfg *sc) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
  for (size_t i = 0; i < gw_registry_count(r); i++) {
    const gw_adapter *a = gw_registry_at(r, i);
    for (size_t k = 0; a->roots && a->roots[k].local; k++)
      if (!strcmp(a->roots[k].local, (const char *)root->name) && !strcmp(a->roots[k].ns, ns)) {
        const char *xsd = gw_registry_xsd(r, a, k);
        sc->root = (char *)a->roots[k].local;
        sc->ns = (char *)a->roots[k].ns;
        sc->xsd = (char *)xsd;
        return a;
      }
  }
  return NULL;
}

static void run_file(file_result *f, const gw_pipeline *pipe, const gw_config *cfg, uv_loop_t *loop,
                     gw_kafka_producer *kp, size_t batch, long broker_pid, tls_pair *tls) {
  ctx c;
  memset(&c, 0, sizeof(c));
  c.f = f;
  c.pipe = pipe;
  c.cfg = cfg;
  llhttp_settings_init(&c.settings);
  c.settings.on_header_field = on_hdr;
  c.settings.on_header_value = on_hdr;
  c.settings.on_body = on_body;
  c.body_buf = malloc(f->body_len + 1);

  gw_problems pr = {0};
  if (gw_xml_parse(f->body, f->body_len, &c.doc, &pr)) fail(f->name, pr.n ? pr.items[0].message : "does not parse");
  gw_schema_cfg sc = {0};
  c.in_ad = adapter_for(pipe->formats, c.doc, &sc);
  if (!c.in_ad) fail(f->name, "no adapter reads its root element");
  gw_error err = {0};
  if (sc.xsd && gw_schemas_load(&c.schemas, &sc, 1, &err)) fail(sc.xsd, err.msg);

  /* The whole pipeline once: the destination, the kind and what Kafka gets. */
  c.ident = (gw_identity){.authenticated = 1, .country = "TH", .org = "Bench Trading Co", .org_unit = "trader",
                          .cn = "bench-portal", .subject = "CN=bench-portal,OU=trader,O=Bench Trading Co,C=TH"};
  c.sub = (gw_submission){.id = "00000000-0000-4000-8000-000000000000", .body = f->body, .len = f->body_len,
                          .hdr_ucr = f->hdr_ucr[0] ? f->hdr_ucr : NULL, .identity = &c.ident, .role = GW_ROLE_TRADER,
                          .sender = "TH/Bench Trading Co/bench-portal", .received_at = "2026-11-29T08:00:00.000Z",
                          .perishable = !strncasecmp(f->hdr_prio, "perishable", 10)};
  gw_process(pipe, &c.sub, &c.out);
  if (c.out.status)
    fail(f->name, c.out.problems.n ? c.out.problems.items[0].message : "refused by gw_process (check the bench config)");
  f->kind = c.out.kind;
  f->in_format = c.out.in_format;
  f->out_format = c.out.out_format;
  c.out_ad = gw_registry_find(pipe->formats, c.out.out_format);
  {
    gw_adapter_input in = {f->body, f->body_len, c.doc, NULL};
    gw_problems p2 = {0};
    if (c.in_ad->decode(c.in_ad, &in, &c.model, &p2)) fail(f->name, "does not decode");
    gw_model_normalize(&c.model);
    gw_problems_free(&p2);
  }
  int same = c.out_ad == c.in_ad;

  if (tls) {
    tls->f = f;
    tls->rcap = f->req_len + 16384;
    tls->rbuf = realloc(tls->rbuf, tls->rcap);
    measure(add_stage(f, "TLS records: request in, 3 KB answer out", 1), su_tls, st_tls, td_tls, tls);
  }
  measure(add_stage(f, "HTTP parse (llhttp, body gathered)", 1), NULL, st_http, NULL, &c);
  measure(add_stage(f, "SHA-256 + perishable sniff", 1), NULL, st_digest, NULL, &c);
  measure(add_stage(f, "XML parse", 1), NULL, st_parse, NULL, &c);
  stage *s = add_stage(f, "XSD validation", 1);
  if (c.schemas) measure(s, NULL, st_validate, NULL, &c);
  else s->skipped = 1, snprintf(s->note, sizeof(s->note), "no XSD for this root");
  measure(add_stage(f, "decode (to the canonical model)", 1), NULL, st_decode, td_decode, &c);
  measure(add_stage(f, "checks (code lists, rules)", 1), NULL, st_check, NULL, &c);
  s = add_stage(f, "encode (destination format)", !same);
  if (c.out_ad && gw_adapter_can_encode(c.out_ad, f->kind)) {
    measure(s, NULL, st_encode, NULL, &c);
    if (same) snprintf(s->note, sizeof(s->note), "not on the path: %s goes out as received", c.out.out_format);
  } else {
    s->skipped = 1;
    snprintf(s->note, sizeof(s->note), "%s cannot encode %s", c.out.out_format, f->kind);
  }
  /* Signing and serialising the received document when it goes out as it
   * came; after an encode the document signed is the encoded one, of about
   * the same size (the difference is in the note of the encode row). */
  measure(add_stage(f, "C14N + XMLDSig signing", 1), su_copy, st_sign, td_copy, &c);
  measure(add_stage(f, same ? "serialise (signature into the bytes received)" : "serialise (signed document)", 1),
          su_signed, st_serialise, td_copy, &c);
  stage *rec = add_stage(f, "signed receipt (gw_process_receipt)", 1);
  measure(rec, NULL, st_receipt, NULL, &c);
  measure(add_stage(f, "status events (4 JSON records)", 1), NULL, st_events, NULL, &c);
  stage *ks = add_stage(f, "Kafka: message + 4 status records, to delivery", 1);
  if (kp) {
    kafka_result kr = kafka_measure(loop, kp, cfg, &c, batch, broker_pid);
    ks->cpu_us = kr.cpu_us;
    ks->n = kr.n;
    ks->p50_us = ks->p99_us = -1;
    snprintf(ks->note, sizeof(ks->note), "process CPU incl. librdkafka threads; wall %.1f µs/msg at batches of %zu%s",
             kr.wall_us, batch, broker_pid > 0 ? "" : "");
    if (broker_pid > 0) {
      stage *b = add_stage(f, "Kafka broker CPU (same machine)", 0);
      b->cpu_us = kr.broker_cpu_us;
      b->n = kr.n;
      b->p50_us = b->p99_us = -1;
      snprintf(b->note, sizeof(b->note), "the broker's /proc CPU time per message; shares the cores here");
    }
  } else {
    ks->skipped = 1;
    snprintf(ks->note, sizeof(ks->note), "no broker (--bootstrap or kafka.bootstrap.servers)");
  }
  stage whole = {0}, receipt = *rec;
  measure(&whole, NULL, st_whole, NULL, &c);
  f->whole_us = whole.cpu_us;
  f->receipt_us = receipt.cpu_us;
  f->sum_us = 0;
  for (size_t i = 0; i < f->n_st; i++)
    if (f->st[i].on_path && !f->st[i].skipped) f->sum_us += f->st[i].cpu_us;

  gw_processed_free(&c.out);
  gw_model_free(&c.model);
  gw_schemas_free(c.schemas);
  xmlFreeDoc(c.doc);
  gw_problems_free(&pr);
  free(c.body_buf);
}

/* ---- report ----------------------------------------------------------------- */

static void fmt_us(char *b, size_t n, double v) {
  if (v < 0) snprintf(b, n, "–");
  else snprintf(b, n, "%.1f", v);
}

static void print_file(const file_result *f) {
  printf("\n**%s** (%zu bytes, %s %s → %s)\n\n", f->name, f->body_len, f->kind, f->in_format, f->out_format);
  printf("| stage | mean CPU µs | p50 µs | p99 µs | msgs/s on one core | runs | note |\n|---|---:|---:|---:|---:|---:|---|\n");
  for (size_t i = 0; i < f->n_st; i++) {
    const stage *s = &f->st[i];
    if (s->skipped) {
      printf("| %s | – | – | – | – | – | %s |\n", s->name, s->note);
      continue;
    }
    char a[32], b[32];
    fmt_us(a, sizeof(a), s->p50_us);
    fmt_us(b, sizeof(b), s->p99_us);
    printf("| %s%s%s | %.1f | %s | %s | %.0f | %" PRIu64 " | %s%s%s |\n", s->on_path ? "" : "_", s->name,
           s->on_path ? "" : "_", s->cpu_us, a, b, s->cpu_us > 0 ? 1e6 / s->cpu_us : 0.0, s->n, s->on_path ? "" : "not in the sum: ",
           s->note, "");
  }
  printf("| **sum on the path = limit per core** | **%.1f** | | | **%.0f** | | |\n", f->sum_us, 1e6 / f->sum_us);
  printf("| gw_process whole (parse … sign, serialise) | %.1f | | | %.0f | | the same code in one call |\n", f->whole_us,
         1e6 / f->whole_us);
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"config", 1, 0, 'c'},   {"bootstrap", 1, 0, 'b'}, {"broker-pid", 1, 0, 'p'},
                                     {"seconds", 1, 0, 's'},  {"mix", 1, 0, 'm'},       {"json", 1, 0, 'j'},
                                     {"batch", 1, 0, 'B'},    {"cores", 1, 0, 'n'},     {"help", 0, 0, 'h'},
                                     {"client-cert", 1, 0, 'C'}, {"client-key", 1, 0, 'K'},
                                     {0, 0, 0, 0}};
  const char *config = NULL, *bootstrap = NULL, *mix = NULL, *client_cert = NULL, *client_key = NULL;
  long broker_pid = 0;
  size_t batch = 200;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  for (int ch; (ch = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
    switch (ch) {
    case 'c': config = optarg; break;
    case 'b': bootstrap = optarg; break;
    case 'p': broker_pid = atol(optarg); break;
    case 's': budget_s = atof(optarg); break;
    case 'm': mix = optarg; break;
    case 'j': json_path = optarg; break;
    case 'B': batch = (size_t)atol(optarg); break;
    case 'n': cores = atol(optarg); break;
    case 'C': client_cert = optarg; break;
    case 'K': client_key = optarg; break;
    default:
      fprintf(stderr, "usage: lmcgw-stages --config FILE --mix FILE:WEIGHT[:Header=value|...],... [--bootstrap HOST:PORT]\n"
                      "       [--broker-pid PID] [--seconds S per stage (1)] [--batch N (200)] [--cores N] [--json FILE]\n"
                      "       [--client-cert PEM --client-key PEM]  (the TLS stages: a client certificate, as mutual TLS)\n");
      return 2;
    }
  }
  if (!config || !mix || budget_s <= 0 || !batch) fail("usage", "--config and --mix are needed (see --help)");
  if (bootstrap) setenv("LMCGW_KAFKA_BOOTSTRAP_SERVERS", bootstrap, 1);
  gw_config cfg;
  gw_error err = {0};
  if (gw_config_load(&cfg, config, NULL, &err)) fail(config, err.msg);
  if (gw_xml_global_init(&err)) fail("xml init", err.msg);
  char schema_dir[4096];
  snprintf(schema_dir, sizeof(schema_dir), "%s/schemas", gw_config_data_dir());
  gw_pipeline pipe;
  if (gw_pipeline_open(&pipe, &cfg, schema_dir, &err)) fail("pipeline", err.msg);

  uv_loop_t loop;
  uv_loop_init(&loop);
  gw_kafka_producer *kp = NULL;
  if (!cfg.kafka_mock) {
    if (gw_kafka_producer_start(&loop, &cfg, NULL, on_dr, &kp, &err)) fail("kafka", err.msg);
  }

  tls_pair tls;
  stage hs = {0};
  if (!cfg.plain_http) {
    if (tls_pair_open(&tls, &cfg, client_cert, client_key, &err)) fail("TLS", err.msg);
    hs_ctx h = {.t = &tls};
    measure(&hs, su_hs, st_hs, td_hs, &h);
  }
  static file_result files[MAX_FILES];
  size_t nf = 0;
  char *m = strdup(mix);
  for (char *save = NULL, *e = strtok_r(m, ",", &save); e && nf < MAX_FILES; e = strtok_r(NULL, ",", &save))
    parse_spec(&files[nf++], e);
  free(m);
  double wsum = 0, mix_us = 0, mix_whole = 0;
  for (size_t i = 0; i < nf; i++) {
    fprintf(stderr, "lmcgw-stages: %s ...\n", files[i].name);
    run_file(&files[i], &pipe, &cfg, &loop, kp, batch, broker_pid, cfg.plain_http ? NULL : &tls);
    wsum += files[i].weight;
    mix_us += files[i].weight * files[i].sum_us;
    mix_whole += files[i].weight * files[i].whole_us;
  }
  mix_us /= wsum;
  mix_whole /= wsum;

  printf("## Stage costs (one core, the gateway's own functions)\n");
  for (size_t i = 0; i < nf; i++) print_file(&files[i]);
  printf("\n| mix (weights as given) | CPU µs per message | limit per core, msgs/s | limit for %ld cores, msgs/s |\n"
         "|---|---:|---:|---:|\n",
         cores);
  for (size_t i = 0; i < nf; i++)
    printf("| %s (weight %u) | %.1f | %.0f | %.0f |\n", files[i].name, files[i].weight, files[i].sum_us,
           1e6 / files[i].sum_us, cores * 1e6 / files[i].sum_us);
  printf("| **mix** | **%.1f** | **%.0f** | **%.0f** |\n", mix_us, 1e6 / mix_us, cores * 1e6 / mix_us);
  if (!cfg.plain_http)
    printf("\nA TLS handshake with the gateway's context%s, both sides in one thread: %.0f µs CPU (p50 %.0f, p99 %.0f); "
           "once per connection, not in the per-message sum.\n",
           client_cert ? " and a client certificate" : "", hs.cpu_us, hs.p50_us, hs.p99_us);

  json_t *o = json_object(), *fa = json_array();
  for (size_t i = 0; i < nf; i++) {
    const file_result *f = &files[i];
    json_t *jf = json_object(), *ja = json_array();
    json_object_set_new(jf, "name", json_string(f->name));
    json_object_set_new(jf, "bytes", json_integer((json_int_t)f->body_len));
    json_object_set_new(jf, "weight", json_integer(f->weight));
    json_object_set_new(jf, "kind", json_string(f->kind));
    json_object_set_new(jf, "sum_us", json_real(f->sum_us));
    json_object_set_new(jf, "gw_process_us", json_real(f->whole_us));
    for (size_t k = 0; k < f->n_st; k++) {
      const stage *s = &f->st[k];
      json_t *js = json_object();
      json_object_set_new(js, "name", json_string(s->name));
      json_object_set_new(js, "on_path", json_boolean(s->on_path && !s->skipped));
      json_object_set_new(js, "cpu_us", s->skipped ? json_null() : json_real(s->cpu_us));
      json_object_set_new(js, "p50_us", s->skipped || s->p50_us < 0 ? json_null() : json_real(s->p50_us));
      json_object_set_new(js, "p99_us", s->skipped || s->p99_us < 0 ? json_null() : json_real(s->p99_us));
      json_object_set_new(js, "note", json_string(s->note));
      json_array_append_new(ja, js);
    }
    json_object_set_new(jf, "stages", ja);
    json_array_append_new(fa, jf);
  }
  json_object_set_new(o, "files", fa);
  json_object_set_new(o, "cores", json_integer(cores));
  json_object_set_new(o, "tls_handshake_us", cfg.plain_http ? json_null() : json_real(hs.cpu_us));
  json_object_set_new(o, "mix_us", json_real(mix_us));
  json_object_set_new(o, "mix_gw_process_us", json_real(mix_whole));
  json_object_set_new(o, "limit_per_core", json_real(1e6 / mix_us));
  json_object_set_new(o, "limit_machine", json_real(cores * 1e6 / mix_us));
  char *line = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  printf("%s\n", line);
  if (json_path) {
    FILE *jf = fopen(json_path, "a");
    if (jf) fprintf(jf, "%s\n", line), fclose(jf);
  }
  free(line);

  for (size_t i = 0; i < nf; i++) free(files[i].req), free(files[i].body);
  if (!cfg.plain_http) tls_pair_close(&tls);
  if (kp) gw_kafka_producer_close(kp, 10000);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  gw_pipeline_close(&pipe);
  gw_config_free(&cfg);
  gw_xml_global_cleanup();
  return 0;
}
