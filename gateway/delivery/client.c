#include "delivery/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY (64u * 1024)

struct gw_delivery_client {
  gw_delivery_url url;
  char authority[300]; /* Host header and messages: host[:port] */
  int is_ip;
  SSL_CTX *ctx;        /* NULL for http:// */
  int fd;
  SSL *ssl;
  unsigned timeout_ms;
  size_t max_body;
  int cancel_fd;
};

/* ---- URL ------------------------------------------------------------------ */

static int host_char_ok(int ch) { return isalnum(ch) || ch == '-' || ch == '.' || ch == '_'; }

int gw_delivery_url_parse(const char *url, int allow_http, gw_delivery_url *out, gw_error *err) {
  memset(out, 0, sizeof(*out));
  if (!url || !*url) return GW_ERR(err, GW_EINVAL, "endpoint URL is empty");
  for (const unsigned char *s = (const unsigned char *)url; *s; s++)
    if (*s <= 0x20 || *s == 0x7f)
      return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': space or control character at position %zu", url,
                    (size_t)((const char *)s - url) + 1);
  const char *rest;
  if (!strncasecmp(url, "https://", 8)) {
    out->https = 1;
    rest = url + 8;
  } else if (!strncasecmp(url, "http://", 7)) {
    if (!allow_http)
      return GW_ERR(err, GW_EINVAL,
                    "endpoint URL '%s': http:// sends documents unencrypted; use https:// (or set delivery.allow_http "
                    "for a test endpoint)", url);
    rest = url + 7;
  } else {
    const char *sep = strstr(url, "://");
    if (!sep) return GW_ERR(err, GW_EINVAL, "endpoint URL '%s' is not absolute (https://host[:port]/path expected)", url);
    return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': scheme '%.*s' is not supported (https:// expected)", url,
                  (int)(sep - url), url);
  }
  size_t alen = strcspn(rest, "/?#");
  const char *auth_end = rest + alen;
  if (memchr(rest, '@', alen))
    return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': user information (user@) is not allowed; the client certificate "
                  "identifies the gateway", url);
  const char *h = rest, *h_end, *port = NULL;
  if (*h == '[') {
    const char *rb = memchr(h, ']', alen);
    if (!rb) return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': IPv6 address without closing ']'", url);
    h_end = rb;
    h++;
    if (rb + 1 < auth_end) {
      if (rb[1] != ':') return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': unexpected text after ']'", url);
      port = rb + 2;
    }
    size_t hl = (size_t)(h_end - h);
    char tmp[64];
    struct in6_addr a6;
    if (hl == 0 || hl >= sizeof(tmp)) return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': bad IPv6 address", url);
    memcpy(tmp, h, hl);
    tmp[hl] = 0;
    if (inet_pton(AF_INET6, tmp, &a6) != 1)
      return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': '%s' is not an IPv6 address", url, tmp);
  } else {
    const char *colon = memchr(h, ':', alen);
    h_end = colon ? colon : auth_end;
    if (colon) port = colon + 1;
    for (const char *s = h; s < h_end; s++)
      if (!host_char_ok((unsigned char)*s))
        return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': '%c' cannot appear in a host name", url, *s);
  }
  size_t hl = (size_t)(h_end - h);
  if (hl == 0) return GW_ERR(err, GW_EINVAL, "endpoint URL '%s' has no host", url);
  if (hl >= sizeof(out->host)) return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': host name longer than 255", url);
  memcpy(out->host, h, hl);
  out->host[hl] = 0;
  if (port) {
    size_t pl = (size_t)(auth_end - port);
    unsigned long v = 0;
    int ok = pl > 0 && pl <= 5;
    for (size_t i = 0; ok && i < pl; i++) {
      ok = isdigit((unsigned char)port[i]);
      v = v * 10 + (unsigned long)(port[i] - '0');
    }
    if (!ok || v == 0 || v > 65535)
      return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': port '%.*s' is not a number from 1 to 65535", url, (int)pl, port);
    snprintf(out->port, sizeof(out->port), "%lu", v);
  } else {
    snprintf(out->port, sizeof(out->port), "%s", out->https ? "443" : "80");
  }
  if (strchr(auth_end, '#'))
    return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': a fragment (#...) has no meaning for a POST", url);
  const char *path = *auth_end ? auth_end : "/";
  int q = *path == '?';
  if (strlen(path) + (size_t)q >= sizeof(out->path))
    return GW_ERR(err, GW_EINVAL, "endpoint URL '%s': path longer than %zu", url, sizeof(out->path) - 1);
  snprintf(out->path, sizeof(out->path), "%s%s", q ? "/" : "", path);
  return 0;
}

/* ---- waiting -------------------------------------------------------------- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for events on the socket until the deadline or cancellation. */
static int wait_fd(gw_delivery_client *c, short events, uint64_t deadline, const char *what, gw_error *err) {
  for (;;) {
    uint64_t now = now_ms();
    if (now >= deadline)
      return GW_ERR(err, GW_EIO, "%s %s: timed out (delivery.timeout_ms %u)", what, c->authority, c->timeout_ms);
    struct pollfd p[2] = {{c->fd, events, 0}, {c->cancel_fd, POLLIN, 0}};
    int n = poll(p, c->cancel_fd >= 0 ? 2 : 1, (int)(deadline - now));
    if (n < 0) {
      if (errno == EINTR) continue;
      return GW_ERR(err, GW_EIO, "%s %s: poll: %s", what, c->authority, strerror(errno));
    }
    if (n == 0) continue;
    if (c->cancel_fd >= 0 && (p[1].revents & POLLIN)) return GW_ERR(err, GW_ECANCELED, "stopped while waiting for %s", c->authority);
    return 0;
  }
}

/* ---- connection ----------------------------------------------------------- */

void gw_delivery_client_disconnect(gw_delivery_client *c) {
  if (c->ssl) {
    /* A close_notify, best effort: the socket is non-blocking, so this never waits. */
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  ERR_clear_error();
}

static int tcp_connect(gw_delivery_client *c, uint64_t deadline, gw_error *err) {
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  /* getaddrinfo has no timeout of its own; the resolver's (resolv.conf) applies. */
  int g = getaddrinfo(c->url.host, c->url.port, &hints, &res);
  if (g) return GW_ERR(err, GW_EIO, "cannot resolve %s: %s", c->url.host, gai_strerror(g));
  int rc = GW_ERR(err, GW_EIO, "no address for %s", c->url.host);
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    char addr[INET6_ADDRSTRLEN] = "?";
    getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      rc = GW_ERR(err, GW_EIO, "socket: %s", strerror(errno));
      continue;
    }
    c->fd = fd;
    int r = connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      rc = wait_fd(c, POLLOUT, deadline, "connecting to", err);
      if (rc) {
        gw_delivery_client_disconnect(c);
        if (rc == GW_ECANCELED) break;
        continue;
      }
      int soerr = 0;
      socklen_t sl = sizeof(soerr);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      r = soerr ? -1 : 0;
      errno = soerr;
    }
    if (r != 0) {
      rc = GW_ERR(err, GW_EIO, "connect to %s (%s): %s", c->authority, addr, strerror(errno));
      gw_delivery_client_disconnect(c);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = 0;
    break;
  }
  freeaddrinfo(res);
  return rc;
}

/* Says why a TLS call failed, the certificate check first: that is what an
 * operator has to fix. */
static int tls_fail(gw_delivery_client *c, int ret, const char *what, gw_error *err) {
  int e = SSL_get_error(c->ssl, ret);
  long v = SSL_get_verify_result(c->ssl);
  unsigned long q = ERR_peek_last_error();
  char es[256] = "";
  if (q) ERR_error_string_n(q, es, sizeof(es));
  int rc;
  if (v != X509_V_OK)
    rc = GW_ERR(err, GW_ETLS, "TLS %s with %s: the endpoint's certificate was refused: %s", what, c->authority,
                X509_verify_cert_error_string(v));
  else if (e == SSL_ERROR_SYSCALL && !q)
    rc = GW_ERR(err, GW_ETLS, "TLS %s with %s: %s", what, c->authority,
                errno ? strerror(errno) : "connection closed by the endpoint");
  else
    rc = GW_ERR(err, GW_ETLS, "TLS %s with %s failed: %s", what, c->authority, *es ? es : "unknown OpenSSL error");
  ERR_clear_error();
  return rc;
}

static int tls_connect(gw_delivery_client *c, uint64_t deadline, gw_error *err) {
  ERR_clear_error();
  c->ssl = SSL_new(c->ctx);
  if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
    ERR_clear_error();
    return GW_ERR(err, GW_ENOMEM, "SSL_new failed");
  }
  if (!c->is_ip) SSL_set_tlsext_host_name(c->ssl, c->url.host);
  X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
  X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = c->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->url.host) : SSL_set1_host(c->ssl, c->url.host);
  if (ok != 1) {
    ERR_clear_error();
    return GW_ERR(err, GW_ETLS, "cannot set the expected host name %s", c->url.host);
  }
  SSL_set_connect_state(c->ssl);
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) return 0;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      int w = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "TLS handshake with", err);
      if (w) return w;
      continue;
    }
    return tls_fail(c, r, "handshake", err);
  }
}

static int connect_endpoint(gw_delivery_client *c, uint64_t deadline, gw_error *err) {
  int rc = tcp_connect(c, deadline, err);
  if (!rc && c->ctx) rc = tls_connect(c, deadline, err);
  if (rc) gw_delivery_client_disconnect(c);
  return rc;
}

/* 1 when a kept-alive connection was closed (or spoke out of turn) meanwhile. */
static int stale(gw_delivery_client *c) {
  struct pollfd p = {c->fd, POLLIN, 0};
  return poll(&p, 1, 0) != 0;
}

static int send_all(gw_delivery_client *c, const char *b, size_t n, uint64_t deadline, gw_error *err) {
  while (n) {
    ERR_clear_error();
    ssize_t w;
    if (c->ssl) {
      int cap = n > (1u << 30) ? (1 << 30) : (int)n;
      int r = SSL_write(c->ssl, b, cap);
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          int rc = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "sending to", err);
          if (rc) return rc;
          continue;
        }
        return tls_fail(c, r, "write", err);
      }
      w = r;
    } else {
      w = send(c->fd, b, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          int rc = wait_fd(c, POLLOUT, deadline, "sending to", err);
          if (rc) return rc;
          continue;
        }
        return GW_ERR(err, GW_EIO, "sending to %s: %s", c->authority, strerror(errno));
      }
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads what is there: >0 bytes, 0 at the end of the stream, <0 error. */
static ssize_t recv_some(gw_delivery_client *c, char *b, size_t cap, uint64_t deadline, gw_error *err) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    if (c->ssl) {
      int r = SSL_read(c->ssl, b, (int)cap);
      if (r > 0) return r;
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        int rc = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "waiting for an answer from", err);
        if (rc) return rc;
        continue;
      }
      /* A peer that closes without close_notify: the end, as far as HTTP goes. */
      if (e == SSL_ERROR_SYSCALL && !ERR_peek_error() && (errno == 0 || errno == ECONNRESET)) {
        ERR_clear_error();
        return 0;
      }
      return tls_fail(c, r, "read", err);
    }
    ssize_t r = recv(c->fd, b, cap, 0);
    if (r >= 0) return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      int rc = wait_fd(c, POLLIN, deadline, "waiting for an answer from", err);
      if (rc) return rc;
      continue;
    }
    if (errno == ECONNRESET) return 0;
    return GW_ERR(err, GW_EIO, "reading from %s: %s", c->authority, strerror(errno));
  }
}

/* ---- answer --------------------------------------------------------------- */

typedef struct answer {
  gw_delivery_client *c;
  gw_delivery_response *r;
  char field[32];
  size_t field_len;
  char value[32];
  size_t value_len;
  int done;
  int oom;
} answer;

static answer *ans_of(llhttp_t *p) { return p->data; }

static int on_field(llhttp_t *p, const char *at, size_t len) {
  answer *a = ans_of(p);
  size_t n = len < sizeof(a->field) - 1 - a->field_len ? len : sizeof(a->field) - 1 - a->field_len;
  memcpy(a->field + a->field_len, at, n);
  a->field_len += n;
  return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t len) {
  answer *a = ans_of(p);
  size_t n = len < sizeof(a->value) - 1 - a->value_len ? len : sizeof(a->value) - 1 - a->value_len;
  memcpy(a->value + a->value_len, at, n);
  a->value_len += n;
  return 0;
}

static int on_value_complete(llhttp_t *p) {
  answer *a = ans_of(p);
  a->field[a->field_len] = a->value[a->value_len] = 0;
  if (!strcasecmp(a->field, "retry-after")) {
    char *end;
    long v = strtol(a->value, &end, 10);
    a->r->retry_after_s = end != a->value && !*end && v >= 0 ? v : -1;
  }
  a->field_len = a->value_len = 0;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  answer *a = ans_of(p);
  size_t room = a->c->max_body - a->r->body_len;
  size_t n = len < room ? len : room;
  if (n < len) a->r->truncated = 1;
  if (!n) return 0;
  char *nb = realloc(a->r->body, a->r->body_len + n + 1);
  if (!nb) {
    a->oom = 1;
    return -1;
  }
  memcpy(nb + a->r->body_len, at, n);
  a->r->body = nb;
  a->r->body_len += n;
  nb[a->r->body_len] = 0;
  return 0;
}

static int on_complete(llhttp_t *p) {
  ans_of(p)->done = 1;
  return HPE_PAUSED;
}

/* One exchange on the current connection. *answered tells whether any byte of
 * an answer came, so a dead kept-alive connection can be told from a failure. */
static int exchange(gw_delivery_client *c, const char *head, size_t head_len, const void *body, size_t body_len,
                    gw_delivery_response *resp, uint64_t deadline, int *answered, gw_error *err) {
  *answered = 0;
  int rc = send_all(c, head, head_len, deadline, err);
  if (!rc && body_len) rc = send_all(c, body, body_len, deadline, err);
  if (rc) return rc;
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_header_field = on_field;
  s.on_header_value = on_value;
  s.on_header_value_complete = on_value_complete;
  s.on_body = on_body;
  s.on_message_complete = on_complete;
  llhttp_t p;
  answer a = {.c = c, .r = resp};
  llhttp_init(&p, HTTP_RESPONSE, &s);
  p.data = &a;
  char buf[16384];
  for (;;) {
    ssize_t n = recv_some(c, buf, sizeof(buf), deadline, err);
    if (n < 0) return (int)n;
    if (n == 0) {
      if (!*answered) return GW_ERR(err, GW_EIO, "%s closed the connection without answering", c->authority);
      /* An answer delimited by the end of the stream completes here. */
      llhttp_errno_t e = llhttp_finish(&p);
      if (a.done) break;
      return GW_ERR(err, GW_EIO, "%s closed the connection in the middle of its answer%s%s", c->authority,
                    e ? ": " : "", e ? llhttp_get_error_reason(&p) : "");
    }
    *answered = 1;
    const char *at = buf;
    size_t left = (size_t)n;
    for (;;) {
      llhttp_errno_t e = llhttp_execute(&p, at, left);
      if (a.oom) return GW_ERR(err, GW_ENOMEM, "out of memory reading the answer");
      if (e == HPE_OK) break;
      if (e != HPE_PAUSED || !a.done)
        return GW_ERR(err, GW_EIO, "malformed answer from %s: %s (%s)", c->authority, llhttp_errno_name(e),
                      llhttp_get_error_reason(&p));
      if (p.status_code >= 200) goto complete;
      /* An interim 1xx answer: the real one follows. */
      const char *pos = llhttp_get_error_pos(&p);
      left -= (size_t)(pos - at);
      at = pos;
      free(resp->body);
      resp->body = NULL;
      resp->body_len = 0;
      resp->truncated = 0;
      a.done = 0;
      llhttp_init(&p, HTTP_RESPONSE, &s);
      p.data = &a;
    }
  }
complete:
  resp->status = p.status_code;
  if (!llhttp_should_keep_alive(&p)) gw_delivery_client_disconnect(c);
  return 0;
}

/* ---- public --------------------------------------------------------------- */

static int load_ctx(gw_delivery_client *c, const gw_delivery_client_config *cfg, gw_error *err) {
  if (!cfg->ca_file || !*cfg->ca_file)
    return GW_ERR(err, GW_ECONFIG, "delivery.ca: a CA bundle is required to verify %s", cfg->url);
  ERR_clear_error();
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (!c->ctx) return GW_ERR(err, GW_ETLS, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
  /* A peer closing without close_notify ends the stream; llhttp still tells a
   * complete answer (Content-Length, chunked) from a cut one. */
  SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_verify_depth(c->ctx, 8);
  /* Partial writes: a large body goes out record by record as the socket takes it. */
  SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(c->ctx, alpn, sizeof(alpn) - 1);
  char es[256];
  int rc = 0;
  if (SSL_CTX_load_verify_locations(c->ctx, cfg->ca_file, NULL) != 1) {
    ERR_error_string_n(ERR_peek_last_error(), es, sizeof(es));
    rc = GW_ERR(err, GW_ETLS, "delivery.ca %s: %s", cfg->ca_file, es);
  } else if (cfg->cert_file && *cfg->cert_file) {
    if (!cfg->key_file || !*cfg->key_file) {
      rc = GW_ERR(err, GW_ECONFIG, "delivery.key: the client certificate %s needs its key", cfg->cert_file);
    } else if (SSL_CTX_use_certificate_chain_file(c->ctx, cfg->cert_file) != 1) {
      ERR_error_string_n(ERR_peek_last_error(), es, sizeof(es));
      rc = GW_ERR(err, GW_ETLS, "delivery.cert %s: %s", cfg->cert_file, es);
    } else if (SSL_CTX_use_PrivateKey_file(c->ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
      ERR_error_string_n(ERR_peek_last_error(), es, sizeof(es));
      rc = GW_ERR(err, GW_ETLS, "delivery.key %s: %s", cfg->key_file, es);
    } else if (SSL_CTX_check_private_key(c->ctx) != 1) {
      rc = GW_ERR(err, GW_ETLS, "delivery.key %s does not match delivery.cert %s", cfg->key_file, cfg->cert_file);
    }
  }
  ERR_clear_error();
  return rc;
}

int gw_delivery_client_new(const gw_delivery_client_config *cfg, gw_delivery_client **out, gw_error *err) {
  *out = NULL;
  gw_delivery_client *c = calloc(1, sizeof(*c));
  if (!c) return GW_ERR(err, GW_ENOMEM, "out of memory");
  c->fd = -1;
  c->cancel_fd = cfg->cancel_fd;
  c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
  c->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
  int rc = gw_delivery_url_parse(cfg->url, cfg->allow_http, &c->url, err);
  if (!rc) {
    struct in_addr a4;
    struct in6_addr a6;
    c->is_ip = inet_pton(AF_INET, c->url.host, &a4) == 1 || inet_pton(AF_INET6, c->url.host, &a6) == 1;
    int v6 = strchr(c->url.host, ':') != NULL;
    int def_port = !strcmp(c->url.port, c->url.https ? "443" : "80");
    snprintf(c->authority, sizeof(c->authority), "%s%s%s%s%s", v6 ? "[" : "", c->url.host, v6 ? "]" : "",
             def_port ? "" : ":", def_port ? "" : c->url.port);
    if (c->url.https) rc = load_ctx(c, cfg, err);
  }
  if (rc) {
    gw_delivery_client_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void gw_delivery_client_free(gw_delivery_client *c) {
  if (!c) return;
  gw_delivery_client_disconnect(c);
  SSL_CTX_free(c->ctx);
  free(c);
}

const gw_delivery_url *gw_delivery_client_url(const gw_delivery_client *c) { return &c->url; }

void gw_delivery_response_free(gw_delivery_response *r) {
  if (!r) return;
  free(r->body);
  memset(r, 0, sizeof(*r));
}

static int header_ok(const char *s) { return !strpbrk(s, "\r\n"); }

/* Sends a prepared request on the kept connection or a new one. */
static int send_request(gw_delivery_client *c, const char *head, size_t n, const void *body, size_t body_len,
                        gw_delivery_response *resp, gw_error *err) {
  uint64_t deadline = now_ms() + c->timeout_ms;
  int rc = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    int reused = c->fd >= 0;
    if (reused && stale(c)) {
      gw_delivery_client_disconnect(c);
      reused = 0;
    }
    if (!reused && (rc = connect_endpoint(c, deadline, err))) break;
    int answered = 0;
    rc = exchange(c, head, n, body, body_len, resp, deadline, &answered, err);
    if (!rc) break;
    gw_delivery_client_disconnect(c);
    /* The server may close an idle connection just as we reuse it; the
     * message is then sent again on a new one (receivers deduplicate). */
    if (!reused || answered || rc == GW_ECANCELED || rc == GW_ENOMEM || now_ms() >= deadline) break;
    gw_delivery_response_free(resp);
    resp->retry_after_s = -1;
  }
  return rc;
}

int gw_delivery_client_post(gw_delivery_client *c, const char *content_type, const gw_delivery_header *headers,
                            size_t n_headers, const void *body, size_t body_len, gw_delivery_response *resp,
                            gw_error *err) {
  memset(resp, 0, sizeof(*resp));
  resp->retry_after_s = -1;
  size_t cap = 512 + strlen(c->url.path) + strlen(c->authority) + (content_type ? strlen(content_type) : 0);
  for (size_t i = 0; i < n_headers; i++)
    if (headers[i].value) {
      if (!header_ok(headers[i].name) || !header_ok(headers[i].value))
        return GW_ERR(err, GW_EINVAL, "header %s carries a line break", headers[i].name);
      cap += strlen(headers[i].name) + strlen(headers[i].value) + 4;
    }
  if (content_type && !header_ok(content_type)) return GW_ERR(err, GW_EINVAL, "Content-Type carries a line break");
  char *head = malloc(cap);
  if (!head) return GW_ERR(err, GW_ENOMEM, "out of memory");
  size_t n = (size_t)snprintf(head, cap, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lmcgw/" LMCGW_VERSION
                              "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
                              c->url.path, c->authority, content_type ? content_type : "application/octet-stream",
                              body_len);
  for (size_t i = 0; i < n_headers; i++)
    if (headers[i].value) n += (size_t)snprintf(head + n, cap - n, "%s: %s\r\n", headers[i].name, headers[i].value);
  n += (size_t)snprintf(head + n, cap - n, "\r\n");

  int rc = send_request(c, head, n, body, body_len, resp, err);
  free(head);
  if (rc) gw_delivery_response_free(resp);
  return rc;
}

int gw_delivery_client_get(gw_delivery_client *c, const char *path, gw_delivery_response *resp, gw_error *err) {
  memset(resp, 0, sizeof(*resp));
  resp->retry_after_s = -1;
  if (!path || path[0] != '/' || !header_ok(path) || strchr(path, ' '))
    return GW_ERR(err, GW_EINVAL, "path '%s' must start with '/' and hold no spaces or line breaks", path ? path : "");
  size_t cap = 256 + strlen(path) + strlen(c->authority);
  char *head = malloc(cap);
  if (!head) return GW_ERR(err, GW_ENOMEM, "out of memory");
  size_t n = (size_t)snprintf(head, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lmcgw/" LMCGW_VERSION
                              "\r\nAccept: application/json\r\n\r\n", path, c->authority);
  int rc = send_request(c, head, n, NULL, 0, resp, err);
  free(head);
  if (rc) gw_delivery_response_free(resp);
  return rc;
}
