/* lmcgw bench — a load generator for POST /v1/messages: keep-alive HTTP/1.1
 * over plain TCP or TLS (optionally with a client certificate), a weighted
 * mix of message files, closed loop (each connection sends its next message
 * when the answer came) or open loop (--rate: a fixed schedule of sends, the
 * latency counted from each message's intended send time, so a stalled
 * server cannot hide its stall by slowing the sender: no coordinated
 * omission). One thread, one libuv loop; answers are read with llhttp.
 *
 * Output: a human table (per class and overall) on stdout, then one JSON
 * line, also written to --json FILE when given. See bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <llhttp.h>
#include <math.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#define MAX_CLASSES 16
#define MAX_CONNECTING 256 /* handshakes in progress at once, so the listen backlog never overflows */

#include "hist.h"
#include "procstat.h"

/* ---- message classes ---------------------------------------------------- */

typedef struct cls {
  char name[64];
  char path[1024];
  unsigned weight;
  char *req;      /* the whole request, headers and body */
  size_t req_len, body_len;
  size_t vary_at[8]; /* where --vary's text stands in req */
  size_t n_vary;
  hist lat;
  uint64_t sent, done, ok, other, status[6]; /* status[x] = answers of class x00 (0: no answer) */
} cls;

static cls classes[MAX_CLASSES];
static size_t n_classes;
static unsigned weight_sum;
static cls probe_cls; /* GET /healthz on a connection of its own: the loop's lag seen from outside */

/* ---- options and run state ----------------------------------------------- */

static struct {
  const char *host;
  int port;
  int tls;
  const char *ca, *cert, *key;
  unsigned conns;
  double duration, warmup, rate;
  unsigned idle;
  int idle_request;
  const char *vary; /* text replaced in every request by one of the same length, its own */
  double probe_ms;
  const char *json;
  const char *label;
  uint64_t seed;
  long watch[2]; /* processes whose CPU time and memory the report gives (gateway, broker) */
  unsigned n_watch;
  double sample_s; /* RSS of the first watched process every sample_s seconds */
} opt = {.host = "127.0.0.1", .port = 8443, .conns = 16, .duration = 10, .warmup = 2, .seed = 42};

static uv_loop_t *loop;
static SSL_CTX *ssl_ctx;
static struct sockaddr_storage addr;
static uint64_t t_launch, t_start, t_measure, t_end; /* ns: connections up, warm-up over, end */
static int measuring, stopping;
static uint64_t rng_state;
static uint64_t conn_errors, reconnects;
static unsigned n_up, n_connecting, next_to_connect;
static uint64_t dropped_backlog;
static unsigned idle_answered; /* --idle-request: first requests answered */

static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static cls *pick_class(void) {
  unsigned r = (unsigned)(rng() % weight_sum);
  for (size_t i = 0; i < n_classes; i++) {
    if (r < classes[i].weight) return &classes[i];
    r -= classes[i].weight;
  }
  return &classes[n_classes - 1];
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

/* ---- watched processes (/proc) ----------------------------------------- */

#define MAX_SAMPLES 4096
static struct watch {
  unsigned long long t0, t1; /* CPU clock ticks at the start and the end of the measurement */
  long rss_kb, hwm_kb;
  long samples[MAX_SAMPLES];
  size_t n_samples;
} watched[2];
static uint64_t next_sample;

static long proc_status_kb(long pid, const char *key) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, key, kl) && line[kl] == ':') {
      v = atol(line + kl + 1);
      break;
    }
  fclose(f);
  return v;
}

static void watch_start(void) {
  for (unsigned i = 0; i < opt.n_watch; i++) bench_cpu_ticks(opt.watch[i], &watched[i].t0);
}
static void watch_end(void) {
  for (unsigned i = 0; i < opt.n_watch; i++) {
    bench_cpu_ticks(opt.watch[i], &watched[i].t1);
    watched[i].rss_kb = proc_status_kb(opt.watch[i], "VmRSS");
    watched[i].hwm_kb = proc_status_kb(opt.watch[i], "VmHWM");
  }
}

/* ---- connections -------------------------------------------------------- */

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  unsigned idx;
  int open, up, busy, closing, probe;
  SSL *ssl;
  BIO *rbio, *wbio;
  llhttp_t parser;
  cls *cur;
  uint64_t t0; /* when the latency of the current request starts */
  struct conn *next_idle;
} conn;

static conn *conns;
static conn probe_conn;
static conn *idle_head; /* open loop: connections with nothing to do */
static llhttp_settings_t settings;

/* Open loop: sends that were due while every connection was busy, by intended time. */
static struct {
  uint64_t *t;
  cls **c;
  size_t cap, head, n;
} backlog;

static void backlog_push(uint64_t t, cls *c) {
  if (backlog.n == backlog.cap) {
    size_t nc = backlog.cap ? backlog.cap * 2 : 4096;
    if (nc > (1u << 24)) {
      dropped_backlog++;
      return;
    }
    uint64_t *nt = malloc(nc * sizeof(*nt));
    cls **ncl = malloc(nc * sizeof(*ncl));
    if (!nt || !ncl) die("out of memory");
    for (size_t i = 0; i < backlog.n; i++) {
      nt[i] = backlog.t[(backlog.head + i) % backlog.cap];
      ncl[i] = backlog.c[(backlog.head + i) % backlog.cap];
    }
    free(backlog.t);
    free(backlog.c);
    backlog.t = nt, backlog.c = ncl, backlog.cap = nc, backlog.head = 0;
  }
  size_t at = (backlog.head + backlog.n) % backlog.cap;
  backlog.t[at] = t;
  backlog.c[at] = c;
  backlog.n++;
}

static void conn_start(conn *c);
static void send_request(conn *c, cls *k, uint64_t t0);
static void connect_more(void);

typedef struct wreq {
  uv_write_t w;
  char *buf; /* malloc'd (TLS records), or NULL for a plain request's static bytes */
} wreq;

static void on_written(uv_write_t *w, int status) {
  wreq *r = (wreq *)w;
  free(r->buf);
  free(r);
  (void)status; /* a failed write shows up as a read error or EOF */
}

static void write_raw(conn *c, const char *data, size_t len, char *owned) {
  wreq *r = malloc(sizeof(*r));
  if (!r) die("out of memory");
  r->buf = owned;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
    free(owned);
    free(r);
  }
}

/* Sends whatever TLS records OpenSSL has produced. */
static void tls_flush(conn *c) {
  size_t n = BIO_ctrl_pending(c->wbio);
  if (!n) return;
  char *buf = malloc(n);
  if (!buf) die("out of memory");
  int got = BIO_read(c->wbio, buf, (int)n);
  if (got <= 0) {
    free(buf);
    return;
  }
  write_raw(c, buf, (size_t)got, buf);
}

static void on_closed(uv_handle_t *h) {
  conn *c = h->data;
  c->open = c->closing = 0;
  if (c->ssl) SSL_free(c->ssl); /* frees both BIOs */
  c->ssl = NULL;
  if (!stopping) {
    reconnects++;
    conn_start(c);
  }
}

static void conn_close(conn *c, int failed) {
  if (c->closing || !c->open) return;
  c->closing = 1;
  if (!c->probe && c->up && n_up) n_up--;
  if (!c->probe && !c->up && n_connecting) n_connecting--;
  c->up = 0;
  if (failed) conn_errors++;
  if (c->busy && c->cur && measuring && !stopping) {
    c->cur->done++;
    c->cur->status[0]++;
    c->cur->other++;
  }
  c->busy = 0;
  /* Take it out of the idle list, if it is there. */
  for (conn **p = &idle_head; *p; p = &(*p)->next_idle)
    if (*p == c) {
      *p = c->next_idle;
      break;
    }
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  if (!stopping) connect_more();
}

/* The connection can take a request: the next one by the loop's mode. */
static void conn_ready(conn *c) {
  if (stopping) return;
  if (c->probe) return; /* the probe timer drives it */
  if (opt.idle) {
    if (opt.idle_request && !c->cur) send_request(c, &classes[0], uv_hrtime());
    return;
  }
  if (opt.rate > 0) {
    if (backlog.n) {
      uint64_t t = backlog.t[backlog.head];
      cls *k = backlog.c[backlog.head];
      backlog.head = (backlog.head + 1) % backlog.cap;
      backlog.n--;
      send_request(c, k, t);
    } else {
      c->next_idle = idle_head;
      idle_head = c;
    }
    return;
  }
  /* Closed loop: at once, also while other connections are still being
   * opened (the gateway closes a connection that sends nothing within
   * http.header_timeout_ms); what is answered before the warm-up ends is not
   * counted. */
  send_request(c, pick_class(), uv_hrtime());
}

static void on_up(conn *c) {
  c->up = 1;
  if (c->probe) return;
  n_up++;
  if (n_connecting) n_connecting--;
  connect_more();
  conn_ready(c);
}

static int on_message_complete(llhttp_t *p) {
  conn *c = p->data;
  uint64_t now = uv_hrtime();
  cls *k = c->cur;
  c->busy = 0;
  if (k && measuring && now <= t_end) {
    unsigned st = p->status_code;
    k->done++;
    if (st == 202 || (k == &probe_cls && st == 200)) k->ok++;
    else k->other++;
    k->status[st / 100 < 6 ? st / 100 : 5]++;
    h_add(&k->lat, now - c->t0);
  }
  if (!opt.idle) c->cur = NULL;
  else idle_answered++;
  /* Pausing stops llhttp at the end of this answer, so a connection that has
   * already been handed its next request is not fed bytes meant for it. */
  return HPE_PAUSED;
}

static void feed_http(conn *c, const char *data, size_t len) {
  while (len) {
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    if (e == HPE_OK) return;
    if (e == HPE_PAUSED) {
      size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
      llhttp_resume(&c->parser);
      data += used, len -= used;
      conn_ready(c);
      continue;
    }
    fprintf(stderr, "loadgen: bad answer from the server: %s (%s)\n", llhttp_errno_name(e), llhttp_get_error_reason(&c->parser));
    conn_close(c, 1);
    return;
  }
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char slab[65536]; /* one thread, and every read is consumed before the next */
  (void)h, (void)size;
  *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (nread == 0) return;
  if (nread < 0) {
    conn_close(c, nread != UV_EOF || c->busy);
    return;
  }
  if (!c->ssl) {
    feed_http(c, buf->base, (size_t)nread);
    return;
  }
  BIO_write(c->rbio, buf->base, (int)nread);
  if (!SSL_is_init_finished(c->ssl)) {
    int r = SSL_do_handshake(c->ssl);
    tls_flush(c);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e != SSL_ERROR_WANT_READ) {
        unsigned long le = ERR_get_error();
        char why[256];
        ERR_error_string_n(le, why, sizeof(why));
        fprintf(stderr, "loadgen: TLS handshake failed: %s\n", le ? why : "connection closed");
        conn_close(c, 1);
      }
      return;
    }
    on_up(c);
  }
  char plain[16384];
  for (;;) {
    int r = SSL_read(c->ssl, plain, sizeof(plain));
    if (r > 0) {
      feed_http(c, plain, (size_t)r);
      if (c->closing) return;
      continue;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) break;
    conn_close(c, e != SSL_ERROR_ZERO_RETURN || c->busy);
    return;
  }
  tls_flush(c); /* post-handshake messages (TLS 1.3 tickets) need no answer, but be safe */
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  if (status < 0) {
    if (!stopping && conn_errors < 5) fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(status));
    conn_close(c, 1);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  llhttp_init(&c->parser, HTTP_RESPONSE, &settings);
  c->parser.data = c;
  if (!opt.tls) {
    on_up(c);
    return;
  }
  c->ssl = SSL_new(ssl_ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (!c->ssl || !c->rbio || !c->wbio) die("out of memory");
  BIO_set_mem_eof_return(c->rbio, -1);
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_connect_state(c->ssl);
  if (opt.ca) {
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (!X509_VERIFY_PARAM_set1_ip_asc(vp, opt.host)) SSL_set1_host(c->ssl, opt.host);
  }
  if (strcmp(opt.host, "127.0.0.1") && strchr(opt.host, '.') == NULL) SSL_set_tlsext_host_name(c->ssl, opt.host);
  SSL_do_handshake(c->ssl);
  tls_flush(c);
}

static void conn_start(conn *c) {
  if (uv_tcp_init(loop, &c->tcp)) die("uv_tcp_init failed");
  c->tcp.data = c;
  c->connect.data = c;
  c->open = 1;
  c->up = c->busy = 0;
  c->cur = NULL;
  if (!c->probe) n_connecting++;
  int rc = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr, on_connect);
  if (rc) {
    fprintf(stderr, "loadgen: connect: %s\n", uv_strerror(rc));
    conn_errors++;
    if (!c->probe) n_connecting--;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, NULL);
    c->open = 0;
    c->closing = 0;
  }
}

static void connect_more(void) {
  unsigned total = opt.idle ? opt.idle : opt.conns;
  while (!stopping && next_to_connect < total && n_connecting < MAX_CONNECTING) conn_start(&conns[next_to_connect++]);
}

static void vary(cls *k);

static void send_request(conn *c, cls *k, uint64_t t0) {
  c->busy = 1;
  c->cur = k;
  c->t0 = t0;
  if (measuring) k->sent++;
  vary(k);
  if (!c->ssl) {
    /* uv_write reads the buffer later: with --vary, a copy of its own. */
    char *own = k->n_vary ? malloc(k->req_len) : NULL;
    if (own) memcpy(own, k->req, k->req_len);
    write_raw(c, own ? own : k->req, k->req_len, own);
    return;
  }
  int r = SSL_write(c->ssl, k->req, (int)k->req_len);
  if (r <= 0) {
    conn_close(c, 1);
    return;
  }
  tls_flush(c);
}

/* ---- schedule ----------------------------------------------------------- */

static uv_timer_t tick, probe_tick;
static uint64_t issued;

static void print_report(void);

static void on_tick(uv_timer_t *t) {
  uint64_t now = uv_hrtime();
  (void)t;
  if (!t_start) {
    /* Measure once every connection is up, or after 60 s with those that are. */
    unsigned total = opt.idle ? opt.idle : opt.conns;
    if (n_up < total && now - t_launch < 60000000000ull) return;
    /* --idle-request: hold once every first request is answered, so that what
     * is measured is idle connections, not messages in flight. */
    if (opt.idle && opt.idle_request && idle_answered < n_up && now - t_launch < 120000000000ull) return;
    t_start = now;
    t_measure = t_start + (uint64_t)(opt.warmup * 1e9);
    t_end = t_measure + (uint64_t)(opt.duration * 1e9);
    fprintf(stderr, "loadgen: %u connection(s) up, %s\n", n_up, opt.idle ? "holding them" : "sending");
  }
  if (!measuring && now >= t_measure) {
    /* Warm-up over: forget what was counted. */
    for (size_t i = 0; i < n_classes; i++) {
      cls *k = &classes[i];
      memset(&k->lat, 0, sizeof(k->lat));
      k->sent = k->done = k->ok = k->other = 0;
      memset(k->status, 0, sizeof(k->status));
    }
    memset(&probe_cls.lat, 0, sizeof(probe_cls.lat));
    probe_cls.sent = probe_cls.done = probe_cls.ok = probe_cls.other = 0;
    measuring = 1;
    watch_start();
    next_sample = now;
  }
  if (measuring && opt.sample_s > 0 && opt.n_watch && now >= next_sample && watched[0].n_samples < MAX_SAMPLES) {
    watched[0].samples[watched[0].n_samples++] = proc_status_kb(opt.watch[0], "VmRSS");
    next_sample += (uint64_t)(opt.sample_s * 1e9);
  }
  if (opt.rate > 0 && !opt.idle) {
    double per_ns = opt.rate / 1e9;
    uint64_t due = (uint64_t)((double)(now - t_start) * per_ns);
    for (; issued < due; issued++) {
      uint64_t intended = t_start + (uint64_t)((double)issued / per_ns);
      cls *k = pick_class();
      if (idle_head) {
        conn *c = idle_head;
        idle_head = c->next_idle;
        send_request(c, k, intended);
      } else {
        backlog_push(intended, k);
      }
    }
  }
  if (now >= t_end) {
    watch_end();
    stopping = 1;
    uv_stop(loop);
  }
}

static void on_probe_tick(uv_timer_t *t) {
  (void)t;
  if (!probe_conn.up || probe_conn.busy || !t_start) return;
  send_request(&probe_conn, &probe_cls, uv_hrtime());
}

/* ---- set-up ------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("%s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END)) die("%s: cannot seek", path);
  long n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) die("%s: cannot read", path);
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

/* "path:weight[:Header=value|Header=value]" */
static void add_class(const char *spec) {
  if (n_classes == MAX_CLASSES) die("--mix: at most %d files", MAX_CLASSES);
  cls *k = &classes[n_classes++];
  const char *c1 = strchr(spec, ':');
  size_t pl = c1 ? (size_t)(c1 - spec) : strlen(spec);
  if (!pl || pl >= sizeof(k->path)) die("--mix: bad entry '%s'", spec);
  memcpy(k->path, spec, pl);
  k->weight = 1;
  const char *hdrs = NULL;
  if (c1) {
    char *end;
    unsigned long w = strtoul(c1 + 1, &end, 10);
    if (end == c1 + 1 || (*end && *end != ':') || w == 0 || w > 1000000) die("--mix: bad weight in '%s'", spec);
    k->weight = (unsigned)w;
    if (*end == ':') hdrs = end + 1;
  }
  weight_sum += k->weight;
  const char *base = strrchr(k->path, '/');
  base = base ? base + 1 : k->path;
  size_t nl = strcspn(base, ".");
  if (nl >= sizeof(k->name)) nl = sizeof(k->name) - 1;
  memmove(k->name, base, nl);
  k->name[nl] = 0;
  char extra[2048] = "";
  size_t el = 0;
  for (const char *h = hdrs; h && *h;) {
    size_t l = strcspn(h, "|");
    const char *eq = memchr(h, '=', l);
    if (!eq) die("--mix: header '%.*s' has no '='", (int)l, h);
    el += (size_t)snprintf(extra + el, sizeof(extra) - el, "%.*s: %.*s\r\n", (int)(eq - h), h, (int)(l - (size_t)(eq - h) - 1),
                           eq + 1);
    if (el >= sizeof(extra)) die("--mix: headers too long");
    h += l;
    if (*h == '|') h++;
  }
  size_t blen;
  char *body = read_file(k->path, &blen);
  char head[4096];
  int hl = snprintf(head, sizeof(head),
                    "POST /v1/messages HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
                    "User-Agent: lmcgw-loadgen\r\n%s\r\n",
                    opt.host, opt.port, blen, extra);
  k->req = malloc((size_t)hl + blen);
  if (!k->req) die("out of memory");
  memcpy(k->req, head, (size_t)hl);
  memcpy(k->req + hl, body, blen);
  k->req_len = (size_t)hl + blen;
  k->body_len = blen;
  free(body);
  size_t vl = opt.vary ? strlen(opt.vary) : 0;
  for (size_t off = 0; vl && k->n_vary < 8;) {
    const char *at = memmem(k->req + off, k->req_len - off, opt.vary, vl);
    if (!at) break;
    k->vary_at[k->n_vary++] = (size_t)(at - k->req);
    off = (size_t)(at - k->req) + vl;
  }
}

/* Every request its own consignment, as at a border post: the last seven
 * characters of --vary's text become 'V' and six base-36 digits of a counter
 * (same length, so Content-Length and the document's validity hold). The
 * counter starts at random: runs against one gateway must not send the same
 * consignments again, or its status store's shipments grow run after run. */
static void vary(cls *k) {
  static uint64_t seq;
  static int seeded;
  if (!k->n_vary) return;
  if (!seeded) {
    unsigned char r[4] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(r, 1, sizeof(r), f) != sizeof(r)) die("--vary: cannot read /dev/urandom");
    fclose(f);
    seq = ((uint64_t)r[0] << 24 | (uint64_t)r[1] << 16 | (uint64_t)r[2] << 8 | r[3]) % 2176782336u; /* 36^6 */
    seeded = 1;
  }
  size_t vl = strlen(opt.vary);
  char tail[8];
  uint64_t n = seq++;
  tail[0] = 'V';
  for (int i = 6; i >= 1; i--, n /= 36) tail[i] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 36];
  size_t tl = vl < 7 ? vl : 7;
  for (size_t i = 0; i < k->n_vary; i++) memcpy(k->req + k->vary_at[i] + vl - tl, tail + 7 - tl, tl);
}

static void raise_nofile(unsigned need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl)) return;
  rlim_t want = (rlim_t)need + 64;
  if (rl.rlim_cur >= want) return;
  if (rl.rlim_max < want) {
    struct rlimit up = {want, want};
    if (!setrlimit(RLIMIT_NOFILE, &up)) return; /* allowed when privileged */
  }
  rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want)
    fprintf(stderr, "loadgen: only %llu file descriptors allowed (hard limit); %u connections may fail\n",
            (unsigned long long)rl.rlim_cur, need);
}

static void setup_tls(void) {
  ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx) die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS); /* 10,000 idle connections on this side too */
  if (opt.ca) {
    if (SSL_CTX_load_verify_locations(ssl_ctx, opt.ca, NULL) != 1) die("--ca %s: cannot load", opt.ca);
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
  } else {
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
  }
  if (opt.cert || opt.key) {
    if (!opt.cert || !opt.key) die("--cert and --key go together");
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx, opt.cert) != 1) die("--cert %s: cannot load", opt.cert);
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx, opt.key, SSL_FILETYPE_PEM) != 1) die("--key %s: cannot load", opt.key);
    if (SSL_CTX_check_private_key(ssl_ctx) != 1) die("--key does not match --cert");
  }
}

/* ---- report ------------------------------------------------------------- */

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static void json_class(FILE *f, const cls *k, double secs) {
  fprintf(f,
          "{\"name\":\"%s\",\"bytes\":%zu,\"sent\":%" PRIu64 ",\"count\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"other\":%" PRIu64
          ",\"status\":{\"none\":%" PRIu64 ",\"2xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64 "}"
          ",\"rate\":%.1f,\"ok_rate\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
          "\"max_ms\":%.3f}",
          k->name, k->body_len, k->sent, k->done, k->ok, k->other, k->status[0], k->status[2], k->status[4], k->status[5],
          (double)k->done / secs, (double)k->ok / secs, k->lat.n ? ms(k->lat.sum / k->lat.n) : 0.0, ms(h_pct(&k->lat, 50)),
          ms(h_pct(&k->lat, 90)), ms(h_pct(&k->lat, 99)), ms(h_pct(&k->lat, 99.9)), ms(k->lat.max));
}

static void row(const cls *k, double secs) {
  printf("| %-14s | %8zu | %8" PRIu64 " | %8" PRIu64 " | %6" PRIu64 " | %9.1f | %8.2f | %8.2f | %8.2f | %8.2f | %8.2f |\n",
         k->name, k->body_len, k->done, k->ok, k->other, (double)k->ok / secs, ms(h_pct(&k->lat, 50)), ms(h_pct(&k->lat, 90)),
         ms(h_pct(&k->lat, 99)), ms(h_pct(&k->lat, 99.9)), ms(k->lat.max));
}

static void print_report(void) {
  double secs = opt.duration;
  static cls all;
  memset(&all, 0, sizeof(all));
  snprintf(all.name, sizeof(all.name), "all");
  uint64_t bytes = 0;
  for (size_t i = 0; i < n_classes; i++) {
    cls *k = &classes[i];
    h_merge(&all.lat, &k->lat);
    all.sent += k->sent, all.done += k->done, all.ok += k->ok, all.other += k->other;
    for (int s = 0; s < 6; s++) all.status[s] += k->status[s];
    bytes += k->done * k->body_len;
  }
  all.body_len = all.done ? (size_t)(bytes / all.done) : 0;
  const char *mode = opt.idle ? "idle" : opt.rate > 0 ? "open" : "closed";
  if (!opt.idle) {
    printf("\n%s loop, %s, %u connection(s), %.0f s measured after %.0f s warm-up%s", mode, opt.tls ? "TLS" : "plain",
           opt.conns, opt.duration, opt.warmup, opt.rate > 0 ? "" : "\n");
    if (opt.rate > 0) printf(", target %.0f msgs/s\n", opt.rate);
    printf("| %-14s | %8s | %8s | %8s | %6s | %9s | %8s | %8s | %8s | %8s | %8s |\n", "class", "bytes", "answers", "202",
           "other", "202/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
    printf("|----------------|---------:|---------:|---------:|-------:|----------:|---------:|---------:|---------:|---------:|---------:|\n");
    for (size_t i = 0; i < n_classes; i++) row(&classes[i], secs);
    if (n_classes > 1) row(&all, secs);
    if (opt.probe_ms > 0) row(&probe_cls, secs);
    if (all.other)
      printf("other answers: %" PRIu64 " none (connection lost), %" PRIu64 " 4xx, %" PRIu64 " 5xx\n", all.status[0],
             all.status[4], all.status[5]);
    if (backlog.n || dropped_backlog)
      printf("open loop: %zu sends still waiting for a connection at the end (the server fell behind)\n", backlog.n);
  } else {
    printf("idle: %u of %u connection(s) open and held for %.0f s (%u first requests answered)\n", n_up, opt.idle,
           opt.duration, idle_answered);
  }
  double hz = (double)sysconf(_SC_CLK_TCK);
  for (unsigned i = 0; i < opt.n_watch; i++) {
    const struct watch *w = &watched[i];
    double cpu = (double)(w->t1 - w->t0) / hz;
    printf("pid %ld: %.2f cores busy, %.3f ms CPU per answer, RSS %.1f MB, peak RSS (VmHWM) %.1f MB\n", opt.watch[i],
           cpu / secs, all.done ? cpu * 1e3 / (double)all.done : 0.0, (double)w->rss_kb / 1024, (double)w->hwm_kb / 1024);
  }
  fflush(stdout);
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  if (!f) die("out of memory");
  fprintf(f, "{\"label\":\"%s\",\"mode\":\"%s\",\"tls\":%s,\"conns\":%u,\"up\":%u,\"duration_s\":%.1f,\"warmup_s\":%.1f,"
             "\"rate_target\":%.1f,\"backlog_at_end\":%zu,\"conn_errors\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"idle_answered\":%u,\"overall\":",
          opt.label ? opt.label : "", mode, opt.tls ? "true" : "false", opt.idle ? opt.idle : opt.conns, n_up, opt.duration,
          opt.warmup, opt.rate, backlog.n, conn_errors, reconnects, idle_answered);
  json_class(f, &all, secs);
  fprintf(f, ",\"classes\":[");
  for (size_t i = 0; i < n_classes; i++) {
    if (i) fputc(',', f);
    json_class(f, &classes[i], secs);
  }
  fprintf(f, "]");
  if (opt.probe_ms > 0) {
    fprintf(f, ",\"probe\":");
    json_class(f, &probe_cls, secs);
  }
  fprintf(f, ",\"watch\":[");
  for (unsigned i = 0; i < opt.n_watch; i++) {
    const struct watch *w = &watched[i];
    double cpu = (double)(w->t1 - w->t0) / hz;
    fprintf(f, "%s{\"pid\":%ld,\"cpu_s\":%.3f,\"cores\":%.3f,\"cpu_ms_per_answer\":%.4f,\"rss_kb\":%ld,\"hwm_kb\":%ld,\"rss_samples_kb\":[",
            i ? "," : "", opt.watch[i], cpu, cpu / secs, all.done ? cpu * 1e3 / (double)all.done : 0.0, w->rss_kb, w->hwm_kb);
    for (size_t k = 0; k < w->n_samples; k++) fprintf(f, "%s%ld", k ? "," : "", w->samples[k]);
    fprintf(f, "]}");
  }
  fprintf(f, "]");
  fprintf(f, "}\n");
  fclose(f);
  fputs(line, stdout);
  if (opt.json) {
    FILE *o = fopen(opt.json, "a");
    if (!o) die("--json %s: %s", opt.json, strerror(errno));
    fputs(line, o);
    fclose(o);
  }
  free(line);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen [options] --mix FILE:WEIGHT[:Header=value|...][,FILE:WEIGHT...]\n"
          "  --host H (127.0.0.1)  --port P (8443)  --tls  --ca PEM  --cert PEM  --key PEM\n"
          "  --conns N (16)          connections, 1 .. 10000; closed loop unless --rate\n"
          "  --rate R                open loop: R messages/s in total, latency from the intended send time\n"
          "  --duration S (10)  --warmup S (2)\n"
          "  --idle N                open N connections and hold them for --duration (no load)\n"
          "  --idle-request          with --idle: one request (the first --mix file) on each first, so that\n"
          "                          they are kept-alive connections (one that never sends is closed by the\n"
          "                          gateway after http.header_timeout_ms)\n"
          "  --probe-ms MS           GET /healthz every MS on a connection of its own (event-loop lag from outside)\n"
          "  --watch-pid PID         report this process's CPU time and RSS over the measurement (twice at most)\n"
          "  --sample-s S            and the first one's RSS every S seconds\n"
          "  --json FILE             append the JSON line to FILE too\n"
          "  --vary TEXT             give every request its own copy of TEXT (e.g. the UCR, in the body and the\n"
          "                          headers): its last 7 characters become a counter, the length stays\n"
          "  --label TEXT  --seed N\n");
  exit(2);
}

int main(int argc, char **argv) {
  static const struct option lo[] = {
      {"host", 1, 0, 'h'},     {"port", 1, 0, 'p'},   {"tls", 0, 0, 't'},      {"ca", 1, 0, 'A'},
      {"cert", 1, 0, 'C'},     {"key", 1, 0, 'K'},    {"conns", 1, 0, 'c'},    {"rate", 1, 0, 'r'},
      {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'}, {"idle", 1, 0, 'i'},     {"idle-request", 0, 0, 'I'},
      {"mix", 1, 0, 'm'},      {"json", 1, 0, 'j'},   {"label", 1, 0, 'l'},    {"seed", 1, 0, 's'},
      {"probe-ms", 1, 0, 'P'}, {"watch-pid", 1, 0, 'W'}, {"sample-s", 1, 0, 'S'}, {"help", 0, 0, '?'},
      {"vary", 1, 0, 'V'},
      {0, 0, 0, 0}};
  const char *mix = NULL;
  for (int ch; (ch = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
    switch (ch) {
    case 'h': opt.host = optarg; break;
    case 'p': opt.port = atoi(optarg); break;
    case 't': opt.tls = 1; break;
    case 'A': opt.ca = optarg; break;
    case 'C': opt.cert = optarg; break;
    case 'K': opt.key = optarg; break;
    case 'c': opt.conns = (unsigned)atoi(optarg); break;
    case 'r': opt.rate = atof(optarg); break;
    case 'd': opt.duration = atof(optarg); break;
    case 'w': opt.warmup = atof(optarg); break;
    case 'i': opt.idle = (unsigned)atoi(optarg); break;
    case 'I': opt.idle_request = 1; break;
    case 'm': mix = optarg; break;
    case 'j': opt.json = optarg; break;
    case 'l': opt.label = optarg; break;
    case 's': opt.seed = strtoull(optarg, NULL, 10); break;
    case 'P': opt.probe_ms = atof(optarg); break;
    case 'W':
      if (opt.n_watch == 2) die("--watch-pid: two at most");
      opt.watch[opt.n_watch++] = atol(optarg);
      break;
    case 'S': opt.sample_s = atof(optarg); break;
    case 'V': opt.vary = optarg; break;
    default: usage();
    }
  }
  if (optind != argc || !mix) usage();
  if (opt.conns < 1 || opt.conns > 10000) die("--conns must be 1 .. 10000");
  if (opt.idle > 10000) die("--idle must be at most 10000");
  if (opt.duration <= 0 || opt.warmup < 0) die("--duration must be positive, --warmup not negative");
  if (opt.cert || opt.ca) opt.tls = 1;
  rng_state = opt.seed ? opt.seed : 42;
  char *m = strdup(mix);
  for (char *save = NULL, *e = strtok_r(m, ",", &save); e; e = strtok_r(NULL, ",", &save)) add_class(e);
  free(m);
  if (!n_classes) usage();
  snprintf(probe_cls.name, sizeof(probe_cls.name), "GET /healthz");
  char ph[512];
  int pl = snprintf(ph, sizeof(ph), "GET /healthz HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: lmcgw-loadgen\r\n\r\n", opt.host, opt.port);
  probe_cls.req = strdup(ph);
  probe_cls.req_len = (size_t)pl;

  if (uv_ip4_addr(opt.host, opt.port, (struct sockaddr_in *)&addr) &&
      uv_ip6_addr(opt.host, opt.port, (struct sockaddr_in6 *)&addr))
    die("--host must be an IP address (%s)", opt.host);
  signal(SIGPIPE, SIG_IGN);
  unsigned total = opt.idle ? opt.idle : opt.conns;
  raise_nofile(total + 2);
  if (opt.tls) setup_tls();
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_message_complete;
  conns = calloc(total, sizeof(*conns));
  if (!conns) die("out of memory");
  for (unsigned i = 0; i < total; i++) conns[i].idx = i;
  loop = uv_default_loop();
  t_launch = uv_hrtime();
  connect_more();
  if (opt.probe_ms > 0) {
    probe_conn.probe = 1;
    conn_start(&probe_conn);
    uv_timer_init(loop, &probe_tick);
    uv_timer_start(&probe_tick, on_probe_tick, (uint64_t)opt.probe_ms, (uint64_t)opt.probe_ms);
  }
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 1, 1);
  uv_run(loop, UV_RUN_DEFAULT);
  print_report();
  return n_up ? 0 : 1;
}
