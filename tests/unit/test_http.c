/* lmcgw — tests of gateway/http: a real server on 127.0.0.1 (port 0) whose
 * loop runs in the test thread, and blocking clients (plain sockets or
 * OpenSSL) on a second thread. The client thread never calls cmocka: it
 * records the first failure in h->fail, checked after the loop has ended. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http/http.h"

/* ---- harness --------------------------------------------------------------- */

typedef struct harness harness;
typedef void (*client_fn)(harness *h);

struct harness {
  uv_loop_t loop;
  uv_async_t done;
  uv_async_t close_now;
  gw_http_server *srv;
  gw_http_config cfg;
  client_fn client;
  int port;
  int closed;
  char fail[512];
  /* seen by the handler (loop thread), read after the loop ended */
  int n_requests;
  char last_method[16];
  char last_path[256];
  char last_query[256];
  char last_xtest[256];
  int names_lower;
  gw_identity last_id;
  int n_async_answered;
  char order[64];
  gw_http_stats stats;
  /* client options */
  const char *client_cert, *client_key; /* TLS client identity, or NULL */
  const char *ca_file;                  /* trust for the server certificate */
};

static char g_dir[256];
enum { HUGE = 12 << 20 }; /* more than loopback socket buffers take at once */

static void on_closed(void *ud) {
  harness *h = ud;
  h->closed = 1;
  h->srv = NULL;
}

static void on_async_timer_closed(uv_handle_t *t) { free(t); }

static void on_async_answer(uv_timer_t *t) {
  gw_http_request *req = t->data;
  harness *h = req->data;
  char body[64];
  int n = snprintf(body, sizeof(body), "late %s", req->query);
  h->n_async_answered++;
  gw_http_respond(req, 200, "text/plain", body, (size_t)n, NULL);
  uv_close((uv_handle_t *)t, on_async_timer_closed);
}

static void on_req(gw_http_request *req, void *ud) {
  harness *h = ud;
  h->n_requests++;
  snprintf(h->last_method, sizeof(h->last_method), "%s", req->method);
  snprintf(h->last_path, sizeof(h->last_path), "%s", req->path);
  snprintf(h->last_query, sizeof(h->last_query), "%s", req->query);
  const char *xt = gw_http_header_get(req, "X-Test");
  snprintf(h->last_xtest, sizeof(h->last_xtest), "%s", xt ? xt : "");
  h->names_lower = 1;
  for (size_t i = 0; i < req->n_headers; i++)
    for (const char *p = req->headers[i].name; *p; p++)
      if (*p >= 'A' && *p <= 'Z') h->names_lower = 0;
  size_t ol = strlen(h->order);
  if (ol + 1 < sizeof(h->order)) {
    h->order[ol] = req->path[1] ? req->path[1] : '/';
    h->order[ol + 1] = '\0';
  }
  if (!strcmp(req->path, "/echo")) {
    gw_http_respond(req, 200, "application/octet-stream", req->body, req->body_len, NULL);
  } else if (!strcmp(req->path, "/async")) {
    unsigned ms = 100;
    sscanf(req->query, "ms=%u", &ms);
    uv_timer_t *t = malloc(sizeof(*t));
    uv_timer_init(&h->loop, t);
    t->data = req;
    req->data = h;
    uv_timer_start(t, on_async_answer, ms, 0);
  } else if (!strcmp(req->path, "/id")) {
    h->last_id = *req->identity;
    char body[64];
    int n = snprintf(body, sizeof(body), "auth=%d", req->identity->authenticated);
    gw_http_respond(req, 200, "text/plain", body, (size_t)n, NULL);
  } else if (!strcmp(req->path, "/big")) {
    static char big[64 << 10];
    memset(big, 'b', sizeof(big));
    gw_http_respond(req, 200, "application/octet-stream", big, sizeof(big), NULL);
  } else if (!strcmp(req->path, "/huge")) {
    char *huge = malloc(HUGE);
    memset(huge, 'h', HUGE);
    gw_http_respond(req, 200, "application/octet-stream", huge, HUGE, NULL);
    free(huge);
  } else if (!strcmp(req->path, "/close")) {
    gw_http_respond(req, 200, "text/plain", "bye", 3, "Connection: close\r\n");
  } else if (!strcmp(req->path, "/nocontent")) {
    gw_http_respond(req, 204, NULL, NULL, 0, "X-Extra: 1\r\n");
  } else {
    gw_http_respond(req, 200, "text/plain", "hello", 5, "X-Served-By: test\r\n");
  }
}

static void on_done(uv_async_t *a) {
  harness *h = a->data;
  if (h->srv) {
    gw_http_stats_get(h->srv, &h->stats);
    gw_http_server_close(h->srv, on_closed, h);
  }
  uv_close((uv_handle_t *)&h->done, NULL);
  uv_close((uv_handle_t *)&h->close_now, NULL);
}

static void on_close_now(uv_async_t *a) {
  harness *h = a->data;
  if (h->srv) {
    gw_http_stats_get(h->srv, &h->stats);
    gw_http_server_close(h->srv, on_closed, h);
  }
}

static void *client_main(void *arg) {
  harness *h = arg;
  h->client(h);
  uv_async_send(&h->done);
  return NULL;
}

static void harness_init(harness *h) {
  memset(h, 0, sizeof(*h));
  h->cfg.listen = "127.0.0.1:0";
  h->cfg.max_body = 2u << 20;
  h->cfg.max_header_bytes = 8192;
  h->cfg.header_timeout_ms = 2000;
  h->cfg.body_timeout_ms = 2000;
  h->cfg.idle_timeout_ms = 2000;
  h->cfg.backlog = 64;
}

static void run(harness *h) {
  assert_int_equal(uv_loop_init(&h->loop), 0);
  gw_error err;
  gw_error_clear(&err);
  int rc = gw_http_server_start(&h->loop, &h->cfg, on_req, h, &h->srv, &err);
  if (rc) fail_msg("server start: %s", err.msg);
  h->port = gw_http_server_port(h->srv);
  assert_true(h->port > 0);
  uv_async_init(&h->loop, &h->done, on_done);
  h->done.data = h;
  uv_async_init(&h->loop, &h->close_now, on_close_now);
  h->close_now.data = h;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client_main, h), 0);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  assert_true(h->closed);
  if (h->fail[0]) fail_msg("client: %s", h->fail);
}

#define CK(h, cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      if (!(h)->fail[0]) snprintf((h)->fail, sizeof((h)->fail), "line %d: %s", __LINE__, #cond); \
      return;                                                                                \
    }                                                                                        \
  } while (0)

/* ---- blocking client ------------------------------------------------------- */

typedef struct cli {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
  char *buf;
  size_t len, cap;
} cli;

typedef struct resp {
  int status;
  char head[8192];
  size_t content_length;
  int has_length;
  int conn_close;
  char *body;
  size_t body_len;
} resp;

static char *find_bytes(const void *hay, size_t n, const void *needle, size_t m) {
  const char *h = hay;
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (!memcmp(h + i, needle, m)) return (char *)h + i;
  return NULL;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int tcp_connect(int port, int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc;
  if (family == AF_INET6) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
  }
  if (rc) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Plain connection, or TLS when the server is TLS (identity from h). 0 on
 * success; -2 when the TLS handshake failed. */
static int cli_open(harness *h, cli *c) {
  memset(c, 0, sizeof(*c));
  c->fd = tcp_connect(h->port, AF_INET);
  if (c->fd < 0) return -1;
  if (!h->cfg.tls) return 0;
  c->ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(c->ctx, h->ca_file, NULL) != 1) return -1;
  if (h->client_cert) {
    if (SSL_CTX_use_certificate_file(c->ctx, h->client_cert, SSL_FILETYPE_PEM) != 1) return -1;
    if (SSL_CTX_use_PrivateKey_file(c->ctx, h->client_key, SSL_FILETYPE_PEM) != 1) return -1;
  }
  c->ssl = SSL_new(c->ctx);
  SSL_set1_host(c->ssl, "localhost");
  SSL_set_fd(c->ssl, c->fd);
  if (SSL_connect(c->ssl) != 1) {
    ERR_clear_error();
    return -2;
  }
  return 0;
}

static void cli_close(cli *c) {
  if (c->ssl) SSL_free(c->ssl);
  if (c->ctx) SSL_CTX_free(c->ctx);
  if (c->fd >= 0) close(c->fd);
  free(c->buf);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

/* Closes with RST instead of FIN. */
static void cli_reset(cli *c) {
  struct linger lg = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  cli_close(c);
}

static int cli_write(cli *c, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w;
    if (c->ssl) {
      int r = SSL_write(c->ssl, s, (int)(n > 65536 ? 65536 : n));
      if (r <= 0) {
        ERR_clear_error();
        return -1;
      }
      w = r;
    } else {
      w = send(c->fd, s, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return -1;
    }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static int cli_writes(cli *c, const char *s) { return cli_write(c, s, strlen(s)); }

/* More bytes into c->buf: > 0 bytes, 0 EOF, < 0 error or timeout. */
static ssize_t cli_fill(cli *c) {
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 131072;
    while (cap - c->len < 65536) cap *= 2;
    c->buf = realloc(c->buf, cap);
    c->cap = cap;
  }
  ssize_t n;
  if (c->ssl) {
    int r = SSL_read(c->ssl, c->buf + c->len, 65536);
    if (r <= 0) {
      int e = SSL_get_error(c->ssl, r);
      ERR_clear_error();
      return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    n = r;
  } else {
    do n = recv(c->fd, c->buf + c->len, 65536, 0);
    while (n < 0 && errno == EINTR);
  }
  if (n > 0) c->len += (size_t)n;
  return n;
}

static void cli_consume(cli *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

static const char *find_header(const char *head, const char *name) {
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
    p += 2;
    if (!strncasecmp(p, name, nl) && p[nl] == ':') {
      p += nl + 1;
      while (*p == ' ') p++;
      return p;
    }
  }
  return NULL;
}

static void resp_free(resp *r) {
  free(r->body);
  r->body = NULL;
}

/* One response (skipping 1xx unless want_interim; bit 2: answer to HEAD,
 * no body). 0 or -1. */
static int cli_response(cli *c, resp *r, int want_interim) {
  memset(r, 0, sizeof(*r));
  for (;;) {
    char *end = c->len ? find_bytes(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (!end) {
      if (cli_fill(c) <= 0) return -1;
      continue;
    }
    size_t hl = (size_t)(end - c->buf) + 4;
    if (hl >= sizeof(r->head)) return -1;
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    cli_consume(c, hl);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1) return -1;
    if (r->status < 200 && !(want_interim & 1)) continue;
    break;
  }
  const char *cl = find_header(r->head, "Content-Length");
  if (cl) {
    r->has_length = 1;
    r->content_length = strtoul(cl, NULL, 10);
  }
  const char *cn = find_header(r->head, "Connection");
  r->conn_close = cn && !strncasecmp(cn, "close", 5);
  if (r->status < 200) return 0;
  if (want_interim & 2) r->content_length = 0;
  r->body = malloc(r->content_length + 1);
  while (c->len < r->content_length)
    if (cli_fill(c) <= 0) return -1;
  memcpy(r->body, c->buf, r->content_length);
  r->body[r->content_length] = '\0';
  r->body_len = r->content_length;
  cli_consume(c, r->content_length);
  return 0;
}

/* 1 when the server closed the connection without sending anything more. */
static int cli_eof(cli *c) {
  if (c->len) return 0;
  ssize_t n = cli_fill(c);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

static int request(harness *h, cli *c, const char *req, resp *r) {
  if (cli_writes(c, req)) return -1;
  return cli_response(c, r, 0);
}

/* ---- plain HTTP tests ------------------------------------------------------ */

static void c_get_simple(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  resp r;
  CK(h, request(h, &c, "GET /hello/world?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Test: Some Value  \r\nX-UPPER-Case: 1\r\n\r\n",
                &r) == 0);
  CK(h, r.status == 200);
  CK(h, r.has_length && r.content_length == 5);
  CK(h, !strcmp(r.body, "hello"));
  CK(h, find_header(r.head, "Date") != NULL);
  CK(h, find_header(r.head, "X-Served-By") != NULL);
  CK(h, !r.conn_close);
  resp_free(&r);
  cli_close(&c);
}

static void test_get_simple(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_get_simple;
  run(&h);
  assert_int_equal(h.n_requests, 1);
  assert_string_equal(h.last_method, "GET");
  assert_string_equal(h.last_path, "/hello/world");
  assert_string_equal(h.last_query, "x=1&y=%20");
  assert_string_equal(h.last_xtest, "Some Value");
  assert_true(h.names_lower);
  assert_int_equal(h.stats.requests_total, 1);
  assert_int_equal(h.stats.responses_by_status[200], 1);
  assert_int_equal(h.stats.connections_accepted, 1);
}

static void c_keepalive(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  for (int i = 0; i < 3; i++) {
    resp r;
    CK(h, request(h, &c, "GET /k HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
    CK(h, r.status == 200 && !r.conn_close);
    resp_free(&r);
  }
  CK(h, gw_http_server_connections(h->srv) == 1);
  resp r;
  CK(h, request(h, &c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && r.conn_close && !strcmp(r.body, "bye"));
  CK(h, strstr(strstr(r.head, "Connection:") + 1, "Connection:") == NULL); /* not doubled */
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
}

static void test_keepalive(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_keepalive;
  run(&h);
  assert_int_equal(h.n_requests, 4);
  assert_int_equal(h.stats.connections_accepted, 1);
}

static void c_pipelined(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  /* The first is answered late, the second at once: order must hold. */
  CK(h, cli_writes(&c, "GET /async?ms=150 HTTP/1.1\r\nHost: t\r\n\r\n"
                       "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz") == 0);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "late ms=150"));
  resp_free(&r);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "hello"));
  resp_free(&r);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "xyz"));
  resp_free(&r);
  cli_close(&c);
}

static void test_pipelined(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_pipelined;
  run(&h);
  assert_string_equal(h.order, "abe");
}

static void c_pipelined_backpressure(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  enum { N = 64 };
  char *all = malloc(N * 64);
  size_t len = 0;
  for (int i = 0; i < N; i++) len += (size_t)sprintf(all + len, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  CK(h, cli_write(&c, all, len) == 0);
  free(all);
  usleep(300 * 1000); /* let the server hit its output limit */
  for (int i = 0; i < N; i++) {
    resp r;
    CK(h, cli_response(&c, &r, 0) == 0);
    CK(h, r.status == 200 && r.body_len == 65536 && r.body[0] == 'b' && r.body[65535] == 'b');
    resp_free(&r);
  }
  resp r;
  CK(h, request(h, &c, "GET /after HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200);
  resp_free(&r);
  cli_close(&c);
}

static void test_pipelined_backpressure(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_pipelined_backpressure;
  run(&h);
  assert_int_equal(h.n_requests, 65);
}

static unsigned char *g_blob;
enum { BLOB = 1 << 20 };

static void c_post_binary(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  char head[128];
  snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", BLOB);
  CK(h, cli_writes(&c, head) == 0);
  CK(h, cli_write(&c, g_blob, BLOB) == 0);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && r.body_len == BLOB);
  CK(h, memcmp(r.body, g_blob, BLOB) == 0);
  resp_free(&r);
  /* and the connection is still good */
  static const char small[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\0\1\2\3";
  CK(h, cli_write(&c, small, sizeof(small) - 1) == 0);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && r.body_len == 4);
  resp_free(&r);
  cli_close(&c);
}

static void make_blob(void) {
  if (g_blob) return;
  g_blob = malloc(BLOB);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < BLOB; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_blob[i] = (unsigned char)x;
  }
  memset(g_blob + 1000, 0, 100); /* NULs in the middle */
}

static void test_post_binary(void **state) {
  (void)state;
  make_blob();
  harness h;
  harness_init(&h);
  h.client = c_post_binary;
  run(&h);
  assert_int_equal(h.n_requests, 2);
}

static void c_chunked(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n") == 0);
  usleep(50 * 1000);
  CK(h, cli_writes(&c, "1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n") == 0);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "hello world!"));
  resp_free(&r);
  cli_close(&c);
}

static void test_chunked(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_chunked;
  run(&h);
  assert_int_equal(h.n_requests, 1);
}

static void c_expect_continue(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n") == 0);
  resp r;
  CK(h, cli_response(&c, &r, 1) == 0);
  CK(h, r.status == 100);
  CK(h, cli_writes(&c, "abcd") == 0);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "abcd"));
  resp_free(&r);
  cli_close(&c);
}

static void test_expect_continue(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_expect_continue;
  run(&h);
}

static void c_too_large_length(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  /* Only the head is sent: the answer must not wait for the body. */
  CK(h, cli_writes(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3000000\r\n\r\n") ==
            0);
  resp r;
  CK(h, cli_response(&c, &r, 1) == 0);
  CK(h, r.status == 413 && r.conn_close);
  CK(h, strstr(r.body, "\"errors\"") != NULL);
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
}

static void test_413_content_length(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_too_large_length;
  run(&h);
  assert_int_equal(h.n_requests, 0);
  assert_int_equal(h.stats.responses_by_status[413], 1);
}

static void c_too_large_chunked(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
  char *chunk = malloc(70000);
  memset(chunk, 'z', 70000);
  char sz[32];
  snprintf(sz, sizeof(sz), "%x\r\n", 65536);
  int sent_err = 0;
  for (int i = 0; i < 40 && !sent_err; i++) { /* 2.5 MiB > 2 MiB */
    sent_err = cli_writes(&c, sz) || cli_write(&c, chunk, 65536) || cli_writes(&c, "\r\n");
  }
  free(chunk);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 413 && r.conn_close);
  resp_free(&r);
  cli_close(&c);
}

static void test_413_chunked(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_too_large_chunked;
  run(&h);
  assert_int_equal(h.n_requests, 0);
}

static void c_431(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  char big[12000];
  int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
  memset(big + n, 'a', 10000);
  strcpy(big + n + 10000, "\r\n\r\n");
  CK(h, cli_writes(&c, big) == 0);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 431 && r.conn_close);
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
  /* Many small headers, trickled. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "GET / HTTP/1.1\r\n") == 0);
  int err = 0;
  for (int i = 0; i < 600 && !err; i++) err = cli_writes(&c, "X-Some-Header: abc\r\n");
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 431);
  resp_free(&r);
  cli_close(&c);
}

static void test_431(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_431;
  run(&h);
  assert_int_equal(h.n_requests, 0);
  assert_int_equal(h.stats.responses_by_status[431], 2);
}

static void c_malformed(harness *h) {
  static const char *bad[] = {
      "GET / HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n",
      "FOO BAR BAZ\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET / HTTP/9.9\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cli c;
    CK(h, cli_open(h, &c) == 0);
    resp r;
    CK(h, request(h, &c, bad[i], &r) == 0);
    CK(h, r.status == 400 && r.conn_close);
    CK(h, strstr(r.body, "{\"errors\":[{\"code\":\"bad_request\",\"message\":\"") == r.body);
    resp_free(&r);
    CK(h, cli_eof(&c));
    cli_close(&c);
  }
}

static void test_400_malformed(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_malformed;
  run(&h);
  assert_int_equal(h.n_requests, 0);
  assert_int_equal(h.stats.responses_by_status[400], 5);
}

static void c_timeouts(harness *h) {
  cli c;
  resp r;
  /* Head started, never finished: 408. */
  CK(h, cli_open(h, &c) == 0);
  uint64_t t0 = now_ms();
  CK(h, cli_writes(&c, "GET / HTTP/1.1\r\nHost: t\r\n") == 0);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 408 && r.conn_close);
  CK(h, now_ms() - t0 >= 250 && now_ms() - t0 < 3000);
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
  /* Slowloris: a byte at a time does not extend the deadline. */
  CK(h, cli_open(h, &c) == 0);
  t0 = now_ms();
  const char *slow = "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n";
  for (const char *p = slow; *p && now_ms() - t0 < 1000; p++) {
    if (cli_write(&c, p, 1)) break;
    usleep(25 * 1000);
  }
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 408);
  CK(h, now_ms() - t0 < 1500);
  resp_free(&r);
  cli_close(&c);
  /* Body started, never finished: 408. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") == 0);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 408);
  resp_free(&r);
  cli_close(&c);
  /* Nothing sent at all: closed without a word. */
  CK(h, cli_open(h, &c) == 0);
  t0 = now_ms();
  CK(h, cli_eof(&c));
  CK(h, now_ms() - t0 < 3000);
  cli_close(&c);
  /* Keep-alive idle: closed after idle_timeout. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, request(h, &c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200);
  resp_free(&r);
  t0 = now_ms();
  CK(h, cli_eof(&c));
  CK(h, now_ms() - t0 >= 250 && now_ms() - t0 < 3000);
  cli_close(&c);
}

static void test_timeouts(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.cfg.header_timeout_ms = 300;
  h.cfg.body_timeout_ms = 300;
  h.cfg.idle_timeout_ms = 300;
  h.client = c_timeouts;
  run(&h);
  assert_int_equal(h.stats.responses_by_status[408], 3);
  assert_int_equal(h.stats.timeouts, 4);
}

static void c_http10(harness *h) {
  cli c;
  resp r;
  CK(h, cli_open(h, &c) == 0);
  CK(h, request(h, &c, "GET /old HTTP/1.0\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && r.conn_close);
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
  CK(h, cli_open(h, &c) == 0);
  CK(h, request(h, &c, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && !r.conn_close && find_header(r.head, "Connection"));
  resp_free(&r);
  CK(h, cli_writes(&c, "HEAD /again HTTP/1.0\r\n\r\n") == 0);
  CK(h, cli_response(&c, &r, 2) == 0);
  CK(h, r.status == 200 && r.has_length && r.conn_close);
  CK(h, strstr(r.head, "Content-Length: 5\r\n") != NULL);
  resp_free(&r);
  CK(h, cli_eof(&c)); /* and no body was sent for HEAD */
  cli_close(&c);
}

static void test_http10(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_http10;
  run(&h);
  assert_int_equal(h.n_requests, 3);
  assert_string_equal(h.last_method, "HEAD");
}

static void c_head_and_204(harness *h) {
  cli c;
  resp r;
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n"
                       "GET /http://example.com/?q HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  /* HEAD: Content-Length 5 but no body; the next response follows at once. */
  char *end;
  while (!(end = find_bytes(c.buf ? c.buf : "", c.len, "\r\n\r\n", 4)))
    CK(h, cli_fill(&c) > 0);
  size_t hl = (size_t)(end - c.buf) + 4;
  CK(h, !strncmp(c.buf, "HTTP/1.1 200", 12));
  CK(h, find_bytes(c.buf, hl, "Content-Length: 5\r\n", 19) != NULL);
  cli_consume(&c, hl);
  while (c.len < 12) CK(h, cli_fill(&c) > 0);
  CK(h, !strncmp(c.buf, "HTTP/1.1 204", 12));
  while (!(end = find_bytes(c.buf, c.len, "\r\n\r\n", 4))) CK(h, cli_fill(&c) > 0);
  hl = (size_t)(end - c.buf) + 4;
  CK(h, find_bytes(c.buf, hl, "Content-Length", 14) == NULL);
  CK(h, find_bytes(c.buf, hl, "X-Extra: 1\r\n", 12) != NULL);
  cli_consume(&c, hl);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200);
  resp_free(&r);
  /* absolute-form */
  CK(h, request(h, &c, "GET http://example.com/abs/path?z=9 HTTP/1.1\r\nHost: example.com\r\n\r\n", &r) == 0);
  CK(h, r.status == 200);
  resp_free(&r);
  cli_close(&c);
}

static void test_head_and_204(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_head_and_204;
  run(&h);
  assert_int_equal(h.n_requests, 4);
  assert_string_equal(h.last_path, "/abs/path");
  assert_string_equal(h.last_query, "z=9");
}

/* Waits (from the client thread) until the server has n requests with the
 * handler; gw_http_server_pending is an atomic read. */
static int wait_pending(harness *h, size_t n) {
  for (int i = 0; i < 500; i++) {
    if (gw_http_server_pending(h->srv) >= n) return 0;
    usleep(2000);
  }
  return -1;
}

/* Waits until the server has handed n requests to the handler. */
static int wait_requests(harness *h, uint64_t n) {
  for (int i = 0; i < 1000; i++) {
    gw_http_stats st;
    gw_http_stats_get(h->srv, &st);
    if (st.requests_total >= n) return 0;
    usleep(2000);
  }
  return -1;
}

static void c_client_gone(harness *h) {
  cli c;
  /* FIN while the handler works. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "GET /async?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CK(h, wait_requests(h, 1) == 0);
  cli_close(&c);
  /* RST while the handler works: the connection dies before the answer. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "GET /async?ms=300 HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CK(h, wait_requests(h, 2) == 0);
  cli_reset(&c);
  /* Half-close: the answer still arrives. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "GET /async?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  shutdown(c.fd, SHUT_WR);
  resp r;
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "late ms=50"));
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
  /* Half-close right after a request whose answer is larger than the
   * socket buffers: the server sees EOF while still writing, and the whole
   * answer must arrive anyway. */
  CK(h, cli_open(h, &c) == 0);
  CK(h, cli_writes(&c, "GET /huge HTTP/1.0\r\n\r\n") == 0);
  shutdown(c.fd, SHUT_WR);
  usleep(300 * 1000);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && r.conn_close && r.body_len == HUGE && r.body[HUGE - 1] == 'h');
  resp_free(&r);
  CK(h, cli_eof(&c));
  cli_close(&c);
  for (int i = 0; i < 200 && gw_http_server_connections(h->srv) > 0; i++) usleep(5000);
  CK(h, gw_http_server_connections(h->srv) == 0);
}

static void test_client_gone(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_client_gone;
  run(&h); /* returns only once the late answers were given and dropped */
  assert_int_equal(h.n_async_answered, 3);
  assert_int_equal(h.n_requests, 4); /* "/next" after the reset is never parsed */
}

static void c_graceful(harness *h) {
  cli busy, idle, late;
  resp r;
  CK(h, cli_open(h, &busy) == 0);
  CK(h, cli_open(h, &idle) == 0);
  CK(h, request(h, &idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  resp_free(&r);
  CK(h, cli_writes(&busy, "GET /async?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CK(h, wait_pending(h, 1) == 0);
  uv_async_send(&h->close_now);
  uint64_t t0 = now_ms();
  CK(h, cli_eof(&idle)); /* at once */
  CK(h, now_ms() - t0 < 250);
  CK(h, tcp_connect(h->port, AF_INET) < 0); /* no longer accepting */
  CK(h, cli_response(&busy, &r, 0) == 0);
  CK(h, r.status == 200 && r.conn_close);
  resp_free(&r);
  CK(h, cli_eof(&busy));
  cli_close(&busy);
  cli_close(&idle);
  (void)late;
}

static void test_graceful_close(void **state) {
  (void)state;
  harness h;
  harness_init(&h);
  h.client = c_graceful;
  run(&h);
  assert_int_equal(h.n_async_answered, 1);
}

static void c_ipv6(harness *h) {
  int fd = tcp_connect(h->port, AF_INET6);
  CK(h, fd >= 0);
  cli c = {.fd = fd};
  resp r;
  CK(h, request(h, &c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200);
  resp_free(&r);
  cli_close(&c);
}

static void test_ipv6(void **state) {
  (void)state;
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  a.sin6_addr = in6addr_loopback;
  int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0) close(fd);
  if (!ok) skip();
  harness h;
  harness_init(&h);
  h.cfg.listen = "[::1]:0";
  h.client = c_ipv6;
  run(&h);
}

static void noop_req(gw_http_request *req, void *ud) {
  (void)ud;
  gw_http_respond(req, 200, NULL, NULL, 0, NULL);
}

static void count_closed(void *ud) { (*(int *)ud)++; }

static void test_listen_config(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  gw_http_config cfg = {.listen = "127.0.0.1:0", .reuseport = 1};
  gw_http_server *a = NULL, *b = NULL, *x = NULL;
  gw_error err;
  gw_error_clear(&err);
  assert_int_equal(gw_http_server_start(&loop, &cfg, noop_req, NULL, &a, &err), 0);
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", gw_http_server_port(a));
  cfg.listen = addr;
  assert_int_equal(gw_http_server_start(&loop, &cfg, noop_req, NULL, &b, &err), 0); /* SO_REUSEPORT */
  assert_int_equal(gw_http_server_port(a), gw_http_server_port(b));
  cfg.reuseport = 0;
  assert_int_not_equal(gw_http_server_start(&loop, &cfg, noop_req, NULL, &x, &err), 0);
  assert_null(x);
  static const char *bad[] = {"", "127.0.0.1", "127.0.0.1:99999", "[::1:80", "nonsense:80", "1.2.3.4:x", "::1:80"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cfg.listen = bad[i];
    gw_error_clear(&err);
    assert_int_equal(gw_http_server_start(&loop, &cfg, noop_req, NULL, &x, &err), GW_ECONFIG);
    assert_true(err.msg[0] != '\0');
  }
  cfg.listen = "127.0.0.1:0";
  cfg.tls = 1;
  cfg.cert_file = "/nonexistent.pem";
  cfg.key_file = "/nonexistent.key";
  assert_int_equal(gw_http_server_start(&loop, &cfg, noop_req, NULL, &x, &err), GW_ETLS);
  int closed = 0;
  gw_http_server_close(a, count_closed, &closed);
  gw_http_server_close(b, count_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_string_equal(gw_http_status_text(413), "Content Too Large");
  assert_non_null(gw_http_status_text(599));
}

/* ---- TLS --------------------------------------------------------------------- */

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
  assert_non_null(e);
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

/* kind: 0 CA, 1 server, 2 client */
static X509 *make_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int kind, const char *c, const char *o,
                       const char *ou, const char *cn, long serial) {
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME *n = X509_get_subject_name(x);
  if (c) X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)c, -1, -1, 0);
  if (o) X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0);
  if (ou) X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0);
  if (cn) X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
  add_ext(x, &ctx, NID_subject_key_identifier, "hash");
  if (kind == 0) {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, &ctx, NID_basic_constraints, "CA:FALSE");
    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
    add_ext(x, &ctx, NID_ext_key_usage, kind == 1 ? "serverAuth" : "clientAuth");
    if (kind == 1) add_ext(x, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
  return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *k) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", g_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  if (x) assert_true(PEM_write_X509(f, x));
  if (k) assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
  fclose(f);
}

static const char *pem(const char *name) {
  static char paths[8][512];
  static int i;
  char *p = paths[i++ % 8];
  snprintf(p, 512, "%s/%s", g_dir, name);
  return p;
}

static int setup_pki(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  snprintf(g_dir, sizeof(g_dir), "/tmp/lmcgw-test-http-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256"), *clikey = EVP_EC_gen("P-256");
  EVP_PKEY *other_key = EVP_EC_gen("P-256"), *rogue_key = EVP_EC_gen("P-256");
  X509 *ca = make_cert(ca_key, NULL, NULL, 0, "GB", "Test Customs CA", NULL, "Test Root", 1);
  X509 *srv = make_cert(srv_key, ca, ca_key, 1, "GB", "Gateway", NULL, "localhost", 2);
  X509 *clicert = make_cert(clikey, ca, ca_key, 2, "GB", "Acme Traders, Ltd", "declarant", "acme-client-01", 3);
  X509 *other = make_cert(other_key, NULL, NULL, 0, "GB", "Other CA", NULL, "Other Root", 1);
  X509 *rogue = make_cert(rogue_key, other, other_key, 2, "GB", "Acme Traders, Ltd", "declarant", "acme-client-01", 2);
  write_pem("ca.pem", ca, NULL);
  write_pem("server.pem", srv, NULL);
  write_pem("server.key", NULL, srv_key);
  write_pem("client.pem", clicert, NULL);
  write_pem("client.key", NULL, clikey);
  write_pem("rogue.pem", rogue, NULL);
  write_pem("rogue.key", NULL, rogue_key);
  X509 *all[] = {ca, srv, clicert, other, rogue};
  EVP_PKEY *keys[] = {ca_key, srv_key, clikey, other_key, rogue_key};
  for (int i = 0; i < 5; i++) {
    X509_free(all[i]);
    EVP_PKEY_free(keys[i]);
  }
  return 0;
}

static int teardown_pki(void **state) {
  (void)state;
  static const char *files[] = {"ca.pem", "server.pem", "server.key", "client.pem", "client.key", "rogue.pem", "rogue.key"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) unlink(pem(files[i]));
  rmdir(g_dir);
  free(g_blob);
  g_blob = NULL;
  return 0;
}

static void tls_harness(harness *h, int client_ca, int require) {
  harness_init(h);
  h->cfg.tls = 1;
  h->cfg.cert_file = pem("server.pem");
  h->cfg.key_file = pem("server.key");
  h->cfg.client_ca_file = client_ca ? pem("ca.pem") : NULL;
  h->cfg.require_client_cert = require;
  h->ca_file = pem("ca.pem");
}

static void c_tls_basic(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  CK(h, SSL_version(c.ssl) >= TLS1_2_VERSION);
  resp r;
  CK(h, request(h, &c, "GET /id HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "auth=0"));
  resp_free(&r);
  /* keep-alive, pipelining and a large body through the TLS path */
  char head[128];
  snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", BLOB);
  CK(h, cli_writes(&c, head) == 0);
  CK(h, cli_write(&c, g_blob, BLOB) == 0);
  CK(h, cli_writes(&c, "GET /async?ms=20 HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && r.body_len == BLOB && !memcmp(r.body, g_blob, BLOB));
  resp_free(&r);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "late ms=20"));
  resp_free(&r);
  CK(h, cli_response(&c, &r, 0) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "hello"));
  resp_free(&r);
  CK(h, request(h, &c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && r.conn_close);
  resp_free(&r);
  /* clean shutdown: close_notify, seen as a TLS EOF */
  CK(h, cli_fill(&c) == 0);
  CK(h, SSL_get_shutdown(c.ssl) & SSL_RECEIVED_SHUTDOWN);
  cli_close(&c);
  /* TLS 1.1 is refused */
  cli o;
  memset(&o, 0, sizeof(o));
  o.fd = tcp_connect(h->port, AF_INET);
  CK(h, o.fd >= 0);
  o.ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(o.ctx, TLS1_1_VERSION);
  SSL_CTX_set_security_level(o.ctx, 0);
  o.ssl = SSL_new(o.ctx);
  SSL_set_fd(o.ssl, o.fd);
  CK(h, SSL_connect(o.ssl) != 1);
  ERR_clear_error();
  cli_close(&o);
  /* plain HTTP spoken to the TLS port */
  o.fd = tcp_connect(h->port, AF_INET);
  CK(h, o.fd >= 0);
  CK(h, cli_writes(&o, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
  char buf[256];
  ssize_t n;
  while ((n = recv(o.fd, buf, sizeof(buf), 0)) > 0)
    CK(h, memcmp(buf, "HTTP", 4) != 0);
  cli_close(&o);
}

static void test_tls_basic(void **state) {
  (void)state;
  make_blob();
  harness h;
  tls_harness(&h, 0, 0);
  h.client = c_tls_basic;
  run(&h);
  assert_int_equal(h.last_id.authenticated, 0);
  assert_int_equal(h.stats.tls_handshake_failures, 2);
}

static void c_tls_identity(harness *h) {
  cli c;
  CK(h, cli_open(h, &c) == 0);
  resp r;
  CK(h, request(h, &c, "GET /id HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
  CK(h, r.status == 200 && !strcmp(r.body, "auth=1"));
  resp_free(&r);
  cli_close(&c);
}

static void test_tls_identity(void **state) {
  (void)state;
  harness h;
  tls_harness(&h, 1, 1);
  h.client_cert = pem("client.pem");
  h.client_key = pem("client.key");
  h.client = c_tls_identity;
  run(&h);
  assert_int_equal(h.last_id.authenticated, 1);
  assert_string_equal(h.last_id.country, "GB");
  assert_string_equal(h.last_id.org, "Acme Traders, Ltd");
  assert_string_equal(h.last_id.org_unit, "declarant");
  assert_string_equal(h.last_id.cn, "acme-client-01");
  assert_string_equal(h.last_id.subject, "CN=acme-client-01,OU=declarant,O=Acme Traders\\, Ltd,C=GB");
  assert_int_equal(h.stats.tls_handshake_failures, 0);
}

/* The client must get no HTTP answer: the handshake fails (TLS 1.2) or the
 * server's alert arrives instead of the response (TLS 1.3). */
static void c_tls_refused(harness *h) {
  cli c;
  int rc = cli_open(h, &c);
  CK(h, rc == 0 || rc == -2);
  if (rc == 0) {
    resp r;
    cli_writes(&c, "GET /id HTTP/1.1\r\nHost: t\r\n\r\n");
    CK(h, cli_response(&c, &r, 0) != 0);
    resp_free(&r);
  }
  cli_close(&c);
}

static void test_tls_no_cert_refused(void **state) {
  (void)state;
  harness h;
  tls_harness(&h, 1, 1);
  h.client = c_tls_refused;
  run(&h);
  assert_int_equal(h.n_requests, 0);
  assert_int_equal(h.stats.tls_handshake_failures, 1);
}

static void test_tls_other_ca_refused(void **state) {
  (void)state;
  harness h;
  tls_harness(&h, 1, 0); /* even when a certificate is optional */
  h.client_cert = pem("rogue.pem");
  h.client_key = pem("rogue.key");
  h.client = c_tls_refused;
  run(&h);
  assert_int_equal(h.n_requests, 0);
  assert_int_equal(h.stats.tls_handshake_failures, 1);
}

static void test_tls_optional_cert(void **state) {
  (void)state;
  harness h;
  tls_harness(&h, 1, 0);
  h.client = c_tls_identity; /* overridden below: no certificate, auth=0 */
  h.client = c_tls_basic;
  make_blob();
  run(&h);
  assert_int_equal(h.last_id.authenticated, 0);
}

static void c_tls_many(harness *h) {
  for (int i = 0; i < 20; i++) {
    cli c;
    CK(h, cli_open(h, &c) == 0);
    resp r;
    CK(h, request(h, &c, "GET /id HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
    CK(h, r.status == 200 && !strcmp(r.body, "auth=1"));
    resp_free(&r);
    if (i % 2) cli_reset(&c);
    else cli_close(&c);
  }
}

static void test_tls_many_connections(void **state) {
  (void)state;
  harness h;
  tls_harness(&h, 1, 1);
  h.client_cert = pem("client.pem");
  h.client_key = pem("client.key");
  h.client = c_tls_many;
  run(&h);
  assert_int_equal(h.n_requests, 20);
  assert_int_equal(h.stats.connections_accepted, 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_simple),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_pipelined),
      cmocka_unit_test(test_pipelined_backpressure),
      cmocka_unit_test(test_post_binary),
      cmocka_unit_test(test_chunked),
      cmocka_unit_test(test_expect_continue),
      cmocka_unit_test(test_413_content_length),
      cmocka_unit_test(test_413_chunked),
      cmocka_unit_test(test_431),
      cmocka_unit_test(test_400_malformed),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_http10),
      cmocka_unit_test(test_head_and_204),
      cmocka_unit_test(test_client_gone),
      cmocka_unit_test(test_graceful_close),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test(test_listen_config),
      cmocka_unit_test(test_tls_basic),
      cmocka_unit_test(test_tls_identity),
      cmocka_unit_test(test_tls_no_cert_refused),
      cmocka_unit_test(test_tls_other_ca_refused),
      cmocka_unit_test(test_tls_optional_cert),
      cmocka_unit_test(test_tls_many_connections),
  };
  return cmocka_run_group_tests_name("http", tests, setup_pki, teardown_pki);
}
