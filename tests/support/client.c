#include "client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct conn {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
} conn;

static int c_write(conn *c, const char *b, size_t n) {
  while (n) {
    int w = c->ssl ? SSL_write(c->ssl, b, (int)n) : (int)write(c->fd, b, n);
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int c_read(conn *c, char *b, size_t n) {
  return c->ssl ? SSL_read(c->ssl, b, (int)n) : (int)read(c->fd, b, n);
}

static void c_close(conn *c) {
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  if (c->ctx) SSL_CTX_free(c->ctx);
  if (c->fd >= 0) close(c->fd);
}

static int fail(tc_response *r, const char *what) {
  unsigned long e = ERR_get_error();
  char es[200] = "";
  if (e) ERR_error_string_n(e, es, sizeof(es));
  snprintf(r->error, sizeof(r->error), "%s%s%s", what, *es ? ": " : "", es);
  return -1;
}

/* Connects, sends head then body (either may be raw bytes of any kind), reads
 * the whole answer. */
static int exchange(int port, const tc_tls *tls, const char *head, size_t hl, const char *body, size_t body_len,
                    tc_response *r);

int tc_request(int port, const tc_tls *tls, const char *method, const char *path, const char *content_type,
               const char *body, size_t body_len, const char *extra_headers, tc_response *r) {
  char head[2048];
  int hl = snprintf(head, sizeof(head),
                    "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s%s%s"
                    "Content-Length: %zu\r\n%s\r\n",
                    method, path, content_type ? "Content-Type: " : "", content_type ? content_type : "",
                    content_type ? "\r\n" : "", body_len, extra_headers ? extra_headers : "");
  return exchange(port, tls, head, (size_t)hl, body, body_len, r);
}

int tc_raw(int port, const tc_tls *tls, const char *raw, size_t len, tc_response *r) {
  return exchange(port, tls, raw, len, NULL, 0, r);
}

static int exchange(int port, const tc_tls *tls, const char *head, size_t hl, const char *body, size_t body_len,
                    tc_response *r) {
  memset(r, 0, sizeof(*r));
  conn c = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
  if (c.fd < 0) return fail(r, "socket");
  struct timeval tv = {30, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = -1;
  if (connect(c.fd, (struct sockaddr *)&a, sizeof(a))) {
    fail(r, "connect");
    goto out;
  }
  if (tls && tls->ca_file) {
    c.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c.ctx, TLS1_2_VERSION);
    if (!SSL_CTX_load_verify_locations(c.ctx, tls->ca_file, NULL)) {
      fail(r, "load CA");
      goto out;
    }
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
    if (tls->cert_file && (!SSL_CTX_use_certificate_chain_file(c.ctx, tls->cert_file) ||
                           !SSL_CTX_use_PrivateKey_file(c.ctx, tls->key_file, SSL_FILETYPE_PEM))) {
      fail(r, "load client certificate");
      goto out;
    }
    c.ssl = SSL_new(c.ctx);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_tlsext_host_name(c.ssl, "localhost");
    SSL_set1_host(c.ssl, "localhost");
    if (SSL_connect(c.ssl) != 1) {
      fail(r, "TLS handshake");
      goto out;
    }
  }
  if (c_write(&c, head, hl) || (body_len && c_write(&c, body, body_len))) {
    /* The server may answer (413) and close before reading everything: read on. */
  }
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (n + 4096 > cap) buf = realloc(buf, cap *= 2);
    int got = c_read(&c, buf + n, cap - n - 1);
    if (got <= 0) break;
    n += (size_t)got;
  }
  buf[n] = 0;
  char *eoh = strstr(buf, "\r\n\r\n");
  if (!eoh || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
    snprintf(r->error, sizeof(r->error), "no HTTP answer (%zu bytes)%s", n, n ? "" : ": connection closed");
    if (c.ssl && !n) fail(r, "connection closed without an answer");
    r->status = 0;
    free(buf);
    goto out;
  }
  size_t hlen = (size_t)(eoh - buf);
  if (hlen >= sizeof(r->headers)) hlen = sizeof(r->headers) - 1;
  memcpy(r->headers, buf, hlen);
  r->headers[hlen] = 0;
  r->body_len = n - (size_t)(eoh + 4 - buf);
  r->body = malloc(r->body_len + 1);
  memcpy(r->body, eoh + 4, r->body_len);
  r->body[r->body_len] = 0;
  free(buf);
  rc = 0;
out:
  c_close(&c);
  return rc;
}

void tc_response_free(tc_response *r) {
  free(r->body);
  r->body = NULL;
}

const char *tc_header(const tc_response *r, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = strstr(r->headers, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    const char *l = p + 2;
    if (!strncasecmp(l, name, nl) && l[nl] == ':') {
      l += nl + 1;
      while (*l == ' ') l++;
      size_t k = strcspn(l, "\r\n");
      if (k >= cap) k = cap - 1;
      memcpy(buf, l, k);
      buf[k] = 0;
      return buf;
    }
  }
  return NULL;
}
