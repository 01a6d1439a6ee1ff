/* lmcgw — HTTP server internals shared by server.c, conn.c and tls.c.
 * Nothing here is part of the public contract; only gateway/http/ and the
 * fuzz target include it.
 *
 * Ownership: a gw_http_server owns its listener, its SSL_CTX and the list of
 * gw_http__conn it accepted. A gw_http__conn owns its two handles (tcp, timer),
 * its SSL object, its input backlog and the request being parsed. It is
 * reference counted: one reference for its handles (dropped when both close
 * callbacks have run) and one per request handed to the handler (dropped by
 * gw_http_respond), so a request outlives a client that went away. The server
 * memory is freed only when every connection is freed. */
#ifndef GW_HTTP_HTTP_INT_H
#define GW_HTTP_HTTP_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <llhttp.h>
#include <openssl/ssl.h>

#include "http/http.h"

/* Defaults for gw_http_config fields left at 0. */
#define GW_HTTP__DEF_MAX_BODY ((size_t)8 << 20)
#define GW_HTTP__DEF_MAX_HEADER ((size_t)16 << 10)
#define GW_HTTP__DEF_HEADER_MS 10000u
#define GW_HTTP__DEF_BODY_MS 30000u
#define GW_HTTP__DEF_IDLE_MS 60000u
#define GW_HTTP__DEF_BACKLOG 511

/* One read slab per server: reads are consumed synchronously, so idle
 * connections never hold a read buffer of their own. */
#define GW_HTTP__READ_BUF (64u << 10)
/* A TLS record carries at most 16 KiB of plaintext. */
#define GW_HTTP__PLAIN_BUF (16u << 10)
/* Unparsed input kept while a request is with the handler; over it the
 * connection stops reading until the backlog drains. */
#define GW_HTTP__IN_HIGH (64u << 10)
/* Queued output over which no further pipelined request is parsed and
 * reading stops: a client that sends but never reads cannot grow us. */
#define GW_HTTP__OUT_HIGH (256u << 10)
/* After the final answer and our FIN, how long unread input is drained so
 * the kernel does not reset the connection before the client read it. */
#define GW_HTTP__LINGER_MS 2000u

enum gw_http__phase {
  GW_HTTP__HANDSHAKE, /* TLS handshake in progress */
  GW_HTTP__IDLE,      /* between requests (or before the first) */
  GW_HTTP__HEAD,      /* request line and headers arriving */
  GW_HTTP__BODY,      /* body arriving */
  GW_HTTP__READY,     /* complete, about to be handed to the handler */
  GW_HTTP__HANDLER,   /* with the handler; parsing is paused */
  GW_HTTP__CLOSING,   /* no more requests: flush, FIN, drain, close */
};

typedef struct gw_http__conn gw_http__conn;

typedef struct gw_http__hdr_off {
  size_t name, value; /* offsets in the head arena */
} gw_http__hdr_off;

/* pub comes first: gw_http_request* and gw_http__req* convert both ways. */
typedef struct gw_http__req {
  gw_http_request pub;
  gw_http__conn *conn;
  char *head; /* arena: URL and header strings, NUL-separated */
  size_t head_len, head_cap;
  size_t head_bytes; /* request line + headers as counted for the 431 limit */
  gw_http__hdr_off *offs;
  size_t n_offs, cap_offs;
  int hstate; /* 0 none, 1 in a header name, 2 in a value */
  size_t body_cap;
  size_t trailer_bytes;
  unsigned keep_alive : 1;
  unsigned http10 : 1;
  unsigned head_method : 1;
  unsigned want_continue : 1;
  char empty[1]; /* body of body-less requests */
} gw_http__req;

struct gw_http__conn {
  uv_tcp_t tcp;     /* tcp.data = this */
  uv_timer_t timer; /* timer.data = this */
  gw_http_server *srv;
  gw_http__conn *prev, *next; /* server's list, until freed */
  llhttp_t parser;
  gw_http__req *req; /* being parsed, or with the handler */
  /* Unparsed plaintext kept across reads (pipelining, pauses). */
  char *in;
  size_t in_off, in_len, in_cap;
  size_t head_raw;  /* raw bytes of the current head, for the 431 check */
  size_t out_bytes; /* queued in uv_write, not yet written */
  unsigned writes;  /* uv_write requests in flight */
  unsigned refs;
  uint8_t handles_open;
  uint8_t phase;
  int err_status; /* answer to send before closing (400, 408, 413, 431...) */
  const char *err_code;
  const char *err_msg;
  /* TLS (NULL/0 for plain connections). */
  SSL *ssl;
  BIO *rbio, *wbio;
  size_t rbio_fed; /* ciphertext written into rbio since it was last replaced */
  gw_identity *identity; /* NULL: anonymous */
  unsigned tls_done : 1;
  unsigned tls_failed : 1;
  unsigned tls_shut : 1;
  unsigned fresh : 1;      /* no request dispatched yet */
  unsigned dead : 1;       /* handles closing or closed */
  unsigned reading : 1;
  unsigned eof : 1;        /* no more input will arrive */
  unsigned paused : 1;     /* llhttp paused after a complete message */
  unsigned driving : 1;    /* inside gw_http__conn_drive */
  unsigned stalled : 1;    /* drive stopped on output backpressure */
  unsigned fin_sent : 1;   /* uv_shutdown issued */
  unsigned continue_sent : 1;
  unsigned fake : 1;       /* no socket: fuzzing */
  char peer[64];
};

typedef struct gw_http__stats {
  _Atomic uint64_t connections_accepted;
  _Atomic uint64_t tls_handshake_failures;
  _Atomic uint64_t requests_total;
  _Atomic uint64_t timeouts;
  _Atomic uint64_t responses_by_status[600];
} gw_http__stats;

struct gw_http_server {
  uv_loop_t *loop;
  uv_tcp_t listener; /* listener.data = this */
  uv_idle_t closer;  /* closed by gw_http_server_close: an asynchronous finish point */
  gw_http_on_request on_request;
  void *ud;
  SSL_CTX *ssl_ctx;
  int tls;
  int has_client_ca;
  size_t max_body, max_header_bytes;
  unsigned header_timeout_ms, body_timeout_ms, idle_timeout_ms;
  int port;
  gw_http__conn *conns; /* every conn not yet freed */
  size_t n_alive;
  _Atomic size_t n_open;    /* connections whose handles are open */
  _Atomic size_t n_pending; /* requests with the handler */
  unsigned listening : 1;
  unsigned listener_closed : 1;
  unsigned closer_closed : 1;
  unsigned closing : 1;
  unsigned fake : 1;
  void (*on_closed)(void *ud);
  void *closed_ud;
  gw_http__stats stats;
  long date_sec;
  char date[64]; /* "Date: ...\r\n" for date_sec */
  char rbuf[GW_HTTP__READ_BUF];
  char plain[GW_HTTP__PLAIN_BUF];
};

static inline void gw_http__count(_Atomic uint64_t *c) {
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* conn.c */
/* Takes the listener's pending connection. */
void gw_http__conn_accept(gw_http_server *srv);
/* Graceful close at server shutdown: idle now, busy after their answer. */
void gw_http__conn_shutdown(gw_http__conn *c);
/* Queues buf (malloc'ed, ownership taken) on the socket, in order. Returns 0
 * or a negative code (the connection is then aborted). */
int gw_http__conn_send(gw_http__conn *c, char *buf, size_t len);
/* Closes the handles at once; unsent output is lost. */
void gw_http__conn_abort(gw_http__conn *c);
/* tls.c: the handshake is complete, requests may flow. */
void gw_http__conn_tls_ready(gw_http__conn *c);
/* Called by the server when a connection's memory is released. */
void gw_http__server_conn_freed(gw_http_server *srv);

/* tls.c */
int gw_http__tls_ctx_new(const gw_http_config *cfg, SSL_CTX **out, gw_error *err);
int gw_http__tls_conn_init(gw_http__conn *c);
void gw_http__tls_conn_free(gw_http__conn *c);
/* Ciphertext from the socket: fed to OpenSSL, the handshake advanced. 0, or
 * negative when the connection must close (alerts are already queued). */
int gw_http__tls_feed(gw_http__conn *c, const char *data, size_t len);
#define GW_HTTP__TLS_EOF (-100000)
/* Plaintext: > 0 bytes, 0 when more ciphertext is needed, GW_HTTP__TLS_EOF
 * on close_notify, other negatives on error. */
int gw_http__tls_read(gw_http__conn *c, char *buf, size_t cap);
/* Encrypts and queues. 0 or negative. */
int gw_http__tls_write(gw_http__conn *c, const char *data, size_t len);
/* Queues close_notify. */
void gw_http__tls_shutdown(gw_http__conn *c);
/* Ciphertext waiting in OpenSSL's input. */
size_t gw_http__tls_backlog(const gw_http__conn *c);

#include "http/http_fuzz.h"

#endif
