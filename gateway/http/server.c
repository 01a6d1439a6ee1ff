/* lmcgw — HTTP server: listener, shutdown, counters. Connections live in
 * conn.c, TLS in tls.c. */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* "ADDR:PORT", "[V6]:PORT"; an empty ADDR or "*" means every IPv4 address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, gw_error *err) {
  char host[64];
  const char *port;
  if (!s || !*s) return GW_ERR(err, GW_ECONFIG, "listen address is empty");
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
      return GW_ERR(err, GW_ECONFIG, "listen address '%s': expected [IPV6]:PORT", s);
    memcpy(host, s + 1, (size_t)(close - s - 1));
    host[close - s - 1] = '\0';
    port = close + 2;
  } else {
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
      return GW_ERR(err, GW_ECONFIG, "listen address '%s': expected ADDR:PORT or [IPV6]:PORT", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = colon + 1;
    if (!host[0] || !strcmp(host, "*")) strcpy(host, "0.0.0.0");
  }
  char *end;
  errno = 0;
  long p = strtol(port, &end, 10);
  if (!*port || *end || errno || p < 0 || p > 65535)
    return GW_ERR(err, GW_ECONFIG, "listen address '%s': bad port", s);
  memset(ss, 0, sizeof(*ss));
  if (s[0] == '[') {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (uv_ip6_addr(host, (int)p, a6))
      return GW_ERR(err, GW_ECONFIG, "listen address '%s': bad IPv6 address", s);
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (uv_ip4_addr(host, (int)p, a4))
      return GW_ERR(err, GW_ECONFIG, "listen address '%s': bad IPv4 address", s);
  }
  return 0;
}

/* The socket is made here rather than by libuv because libuv 1.44 has no way
 * to ask for SO_REUSEPORT, and binding ourselves reports errors before any
 * handle exists, so a failed start needs no asynchronous clean-up. */
static int open_listen_socket(const struct sockaddr_storage *ss, int reuseport, gw_error *err) {
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return GW_ERR(err, GW_EIO, "socket: %s", strerror(errno));
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
      (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))) {
    int e = errno;
    close(fd);
    return GW_ERR(err, GW_EIO, "setsockopt: %s", strerror(e));
  }
  socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (const struct sockaddr *)ss, len)) {
    int e = errno;
    close(fd);
    return GW_ERR(err, GW_EIO, "bind: %s", strerror(e));
  }
  return fd;
}

static void free_server(gw_http_server *srv) {
  if (srv->ssl_ctx) SSL_CTX_free(srv->ssl_ctx);
  free(srv);
}

static void on_start_failed_close(uv_handle_t *h) { free_server(h->data); }

static void on_connection(uv_stream_t *ls, int status) {
  gw_http_server *srv = ls->data;
  if (status < 0) {
    gw_log(GW_LOG_WARN, "http_accept", "accept: %s", uv_strerror(status));
    return;
  }
  gw_http__conn_accept(srv);
}

int gw_http_server_start(uv_loop_t *loop, const gw_http_config *cfg, gw_http_on_request on_request,
                         void *ud, gw_http_server **out, gw_error *err) {
  if (!loop || !cfg || !on_request || !out) return GW_ERR(err, GW_EINVAL, "gw_http_server_start: NULL argument");
  *out = NULL;
  struct sockaddr_storage ss;
  int rc = parse_listen(cfg->listen, &ss, err);
  if (rc) return rc;
  gw_http_server *srv = calloc(1, sizeof(*srv));
  if (!srv) return GW_ERR(err, GW_ENOMEM, "out of memory");
  srv->loop = loop;
  srv->on_request = on_request;
  srv->ud = ud;
  srv->max_body = cfg->max_body ? cfg->max_body : GW_HTTP__DEF_MAX_BODY;
  srv->max_header_bytes = cfg->max_header_bytes ? cfg->max_header_bytes : GW_HTTP__DEF_MAX_HEADER;
  srv->header_timeout_ms = cfg->header_timeout_ms ? cfg->header_timeout_ms : GW_HTTP__DEF_HEADER_MS;
  srv->body_timeout_ms = cfg->body_timeout_ms ? cfg->body_timeout_ms : GW_HTTP__DEF_BODY_MS;
  srv->idle_timeout_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : GW_HTTP__DEF_IDLE_MS;
  srv->date_sec = -1;
  if (cfg->tls) {
    rc = gw_http__tls_ctx_new(cfg, &srv->ssl_ctx, err);
    if (rc) {
      free_server(srv);
      return rc;
    }
    srv->tls = 1;
    srv->has_client_ca = cfg->client_ca_file && *cfg->client_ca_file;
  }
  int fd = open_listen_socket(&ss, cfg->reuseport, err);
  if (fd < 0) {
    free_server(srv);
    return fd;
  }
  rc = uv_tcp_init(loop, &srv->listener);
  if (rc) {
    close(fd);
    free_server(srv);
    return GW_ERR(err, GW_EIO, "uv_tcp_init: %s", uv_strerror(rc));
  }
  srv->listener.data = srv;
  rc = uv_tcp_open(&srv->listener, fd);
  if (rc) {
    close(fd); /* uv_tcp_open did not take it */
  } else {
    rc = uv_listen((uv_stream_t *)&srv->listener, cfg->backlog > 0 ? cfg->backlog : GW_HTTP__DEF_BACKLOG,
                   on_connection);
  }
  if (!rc) {
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
    if (!rc)
      srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
  }
  if (rc) {
    GW_ERR(err, GW_EIO, "listen on %s: %s", cfg->listen, uv_strerror(rc));
    uv_close((uv_handle_t *)&srv->listener, on_start_failed_close);
    return GW_EIO;
  }
  srv->listening = 1;
  *out = srv;
  return 0;
}

int gw_http_server_port(const gw_http_server *srv) { return srv ? srv->port : -1; }

/* The server is freed once nothing can reach it any more: its two handles
 * are closed and every connection (including those whose client went away
 * while the handler still holds the request) is gone. */
static void maybe_finish(gw_http_server *srv) {
  if (!srv->closing || !srv->listener_closed || !srv->closer_closed || srv->n_alive) return;
  void (*cb)(void *) = srv->on_closed;
  void *ud = srv->closed_ud;
  free_server(srv);
  if (cb) cb(ud);
}

void gw_http__server_conn_freed(gw_http_server *srv) {
  srv->n_alive--;
  if (srv->closing) maybe_finish(srv);
}

static void on_listener_closed(uv_handle_t *h) {
  gw_http_server *srv = h->data;
  srv->listener_closed = 1;
  maybe_finish(srv);
}

static void on_closer_closed(uv_handle_t *h) {
  gw_http_server *srv = h->data;
  srv->closer_closed = 1;
  maybe_finish(srv);
}

void gw_http_server_stop_accepting(gw_http_server *srv) {
  if (!srv || !srv->listening) return;
  srv->listening = 0;
  /* libuv cannot pause a listener: closing it is the only way; the kernel
   * refuses further connections from then on. */
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}

void gw_http_server_close(gw_http_server *srv, void (*on_closed)(void *ud), void *ud) {
  if (!srv || srv->closing) return;
  srv->closing = 1;
  srv->on_closed = on_closed;
  srv->closed_ud = ud;
  gw_http_server_stop_accepting(srv);
  uv_idle_init(srv->loop, &srv->closer);
  srv->closer.data = srv;
  uv_close((uv_handle_t *)&srv->closer, on_closer_closed);
  for (gw_http__conn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    gw_http__conn_shutdown(c);
  }
}

size_t gw_http_server_pending(const gw_http_server *srv) {
  return srv ? atomic_load_explicit(&srv->n_pending, memory_order_relaxed) : 0;
}

size_t gw_http_server_connections(const gw_http_server *srv) {
  return srv ? atomic_load_explicit(&srv->n_open, memory_order_relaxed) : 0;
}

void gw_http_stats_get(const gw_http_server *srv, gw_http_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof(*out));
  if (!srv) return;
  const gw_http__stats *s = &srv->stats;
  out->connections_accepted = atomic_load_explicit(&s->connections_accepted, memory_order_relaxed);
  out->tls_handshake_failures = atomic_load_explicit(&s->tls_handshake_failures, memory_order_relaxed);
  out->requests_total = atomic_load_explicit(&s->requests_total, memory_order_relaxed);
  out->timeouts = atomic_load_explicit(&s->timeouts, memory_order_relaxed);
  for (size_t i = 0; i < 600; i++)
    out->responses_by_status[i] = atomic_load_explicit(&s->responses_by_status[i], memory_order_relaxed);
}

const char *gw_http_header_get(const gw_http_request *req, const char *name) {
  if (!req || !name) return NULL;
  for (size_t i = 0; i < req->n_headers; i++)
    if (!strcasecmp(req->headers[i].name, name)) return req->headers[i].value;
  return NULL;
}

const char *gw_http_status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 425: return "Too Early";
  case 426: return "Upgrade Required";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  case 507: return "Insufficient Storage";
  default: break;
  }
  if (status >= 100 && status < 200) return "Informational";
  if (status >= 200 && status < 300) return "Success";
  if (status >= 300 && status < 400) return "Redirection";
  if (status >= 400 && status < 500) return "Client Error";
  return "Server Error";
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int gw_http_url_decode(char *s, int plus_is_space) {
  char *w = s;
  for (const char *r = s; *r; r++) {
    if (*r == '%') {
      int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
      if (lo < 0 || (hi == 0 && lo == 0)) return -1;
      *w++ = (char)(hi * 16 + lo);
      r += 2;
    } else {
      *w++ = plus_is_space && *r == '+' ? ' ' : *r;
    }
  }
  *w = 0;
  return 0;
}
