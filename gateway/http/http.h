/* lmcgw — HTTP/1.1 server (llhttp) over plain TCP or TLS (OpenSSL memory BIOs)
 * on one libuv loop.
 *
 * Threading: every function here runs on the loop thread only.
 * Ownership: the server is allocated by gw_http_server_start() and freed after
 * gw_http_server_close() has called its callback. A gw_http_request is owned by
 * the server; the handler must answer it exactly once with gw_http_respond(),
 * which may happen later (after asynchronous work) but on the loop thread. After
 * gw_http_respond() the request pointer is invalid. If the client goes away
 * before the answer, the request stays valid until gw_http_respond() is called
 * (the answer is then discarded), so asynchronous work never needs to check. */
#ifndef GW_HTTP_HTTP_H
#define GW_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/error.h"

typedef struct gw_http_server gw_http_server;

/* Who is calling, from the verified TLS client certificate's subject. */
typedef struct gw_identity {
  int authenticated;     /* 1 when a client certificate was verified */
  char country[3];       /* subject C, "" when absent */
  char org[128];         /* subject O */
  char org_unit[128];    /* subject OU (role hint, used by later work) */
  char cn[128];          /* subject CN */
  char subject[512];     /* full subject, RFC 2253 */
} gw_identity;

typedef struct gw_http_header {
  char *name;  /* lower-cased */
  char *value;
} gw_http_header;

typedef struct gw_http_request {
  char method[16];
  char *path;            /* path without the query string */
  char *query;           /* after '?', "" when none */
  gw_http_header *headers;
  size_t n_headers;
  char *body;            /* NUL-terminated for convenience; body_len excludes it */
  size_t body_len;
  const gw_identity *identity; /* never NULL; .authenticated tells */
  char peer[64];         /* "addr:port" of the client */
  uint64_t received_ns;  /* uv_hrtime() when the request was complete */
  void *data;            /* free for the handler */
} gw_http_request;

typedef void (*gw_http_on_request)(gw_http_request *req, void *ud);

typedef struct gw_http_config {
  const char *listen;          /* "ADDR:PORT", IPv4 or [IPv6]:PORT */
  int tls;                     /* 0: plain HTTP */
  const char *cert_file;       /* server certificate chain (PEM) */
  const char *key_file;        /* server private key (PEM) */
  const char *client_ca_file;  /* CA bundle for client certificates; NULL: no mutual TLS */
  int require_client_cert;     /* with client_ca_file: refuse clients without a certificate */
  size_t max_body;             /* bytes; larger bodies get 413 */
  size_t max_header_bytes;     /* request line + headers; larger get 431 */
  unsigned header_timeout_ms;  /* time to receive a complete request head */
  unsigned body_timeout_ms;    /* time to receive the body once the head is in */
  unsigned idle_timeout_ms;    /* keep-alive idle time before the server closes */
  int backlog;
  int reuseport;               /* SO_REUSEPORT, for one process per core */
} gw_http_config;

/* Binds, listens and starts accepting. *out receives the server. */
int gw_http_server_start(uv_loop_t *loop, const gw_http_config *cfg,
                         gw_http_on_request on_request, void *ud,
                         gw_http_server **out, gw_error *err);

/* The port actually bound (useful with port 0). */
int gw_http_server_port(const gw_http_server *srv);

/* Case-insensitive header look-up; NULL when absent. */
const char *gw_http_header_get(const gw_http_request *req, const char *name);

/* Sends the answer and releases the request. extra_headers is NULL or a block of
 * complete "Name: value\r\n" lines. The body is copied. */
void gw_http_respond(gw_http_request *req, int status, const char *content_type,
                     const char *body, size_t body_len, const char *extra_headers);

/* Stops accepting new connections; open ones go on. */
void gw_http_server_stop_accepting(gw_http_server *srv);

/* Requests received but not yet answered. */
size_t gw_http_server_pending(const gw_http_server *srv);
/* Open connections. */
size_t gw_http_server_connections(const gw_http_server *srv);

/* Closes every connection (idle ones at once; those with a request in progress
 * once it is answered and written), then the server; on_closed(ud) runs when
 * all handles are closed and the server memory is freed. */
void gw_http_server_close(gw_http_server *srv, void (*on_closed)(void *ud), void *ud);

/* Process-wide counters, read by /metrics (atomics). */
typedef struct gw_http_stats {
  uint64_t connections_accepted;
  uint64_t tls_handshake_failures;
  uint64_t requests_total;
  uint64_t timeouts;
  uint64_t responses_by_status[600]; /* index = status code */
} gw_http_stats;
void gw_http_stats_get(const gw_http_server *srv, gw_http_stats *out);

const char *gw_http_status_text(int status);

/* Decodes %XX escapes (and '+' as a space when plus_is_space, as in query
 * strings) in place. Returns 0, or -1 on a malformed escape or an escaped
 * NUL (s is then unspecified). */
int gw_http_url_decode(char *s, int plus_is_space);

#endif
