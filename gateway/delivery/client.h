/* lmcgw — the delivery worker's HTTP client: one blocking HTTP/1.1 POST at a
 * time to one national endpoint, over mutual TLS (client certificate, server
 * verified against a CA bundle and by host name), keeping the connection
 * alive between requests when the server allows it.
 *
 * Blocking, but never for long: every wait is a poll() bounded by the
 * request's timeout and interrupted when the cancel fd becomes readable, so
 * gw_delivery_stop() does not wait for a slow endpoint.
 *
 * Threading: a client belongs to one thread. Ownership: the client owns its
 * socket, SSL_CTX and SSL; strings in the config are copied. Response bodies
 * are malloc'ed into the response and released by
 * gw_delivery_response_free(). */
#ifndef GW_DELIVERY_CLIENT_H
#define GW_DELIVERY_CLIENT_H

#include <stddef.h>

#include "core/error.h"

/* https://host[:port]/path — or http:// when allowed. host may be a DNS name,
 * an IPv4 literal or a bracketed IPv6 literal ([::1]). */
typedef struct gw_delivery_url {
  int https;
  char host[256];  /* without brackets */
  char port[8];    /* "443" or "80" when not given */
  char path[1024]; /* starts with '/', "/" when not given; query kept */
} gw_delivery_url;

/* Parses url. Refuses with a message saying what and where: another scheme,
 * http:// unless allow_http, user info, an empty or bad host, a bad port,
 * a fragment, spaces or control characters. */
int gw_delivery_url_parse(const char *url, int allow_http, gw_delivery_url *out, gw_error *err);

typedef struct gw_delivery_client_config {
  const char *url;
  int allow_http;
  const char *ca_file;   /* CA bundle verifying the endpoint; required for https */
  const char *cert_file; /* client certificate chain (PEM); NULL: none offered */
  const char *key_file;
  unsigned timeout_ms;   /* whole request: connect, TLS, send, answer */
  size_t max_body;       /* answer bytes kept (more are read and dropped); 0: 64 KiB */
  int cancel_fd;         /* readable: give up at once (GW_ECANCELED); -1: none */
} gw_delivery_client_config;

typedef struct gw_delivery_client gw_delivery_client;

typedef struct gw_delivery_header {
  const char *name;
  const char *value; /* NULL: left out */
} gw_delivery_header;

typedef struct gw_delivery_response {
  int status;
  char *body; /* NUL-terminated, at most max_body bytes */
  size_t body_len;
  int truncated;
  long retry_after_s; /* Retry-After in seconds, -1 when absent or a date */
} gw_delivery_response;

/* Parses the URL, loads the CA and client certificate. No connection yet. */
int gw_delivery_client_new(const gw_delivery_client_config *cfg, gw_delivery_client **out, gw_error *err);
void gw_delivery_client_free(gw_delivery_client *c);

/* POSTs body. Returns 0 when an answer came (any status; see resp->status),
 * else a negative code with err saying what failed: GW_EIO (name lookup,
 * connect, reset, timeout, malformed answer), GW_ETLS (handshake, certificate
 * or host name verification), GW_ECANCELED (cancel fd). Header values with CR
 * or LF are refused (GW_EINVAL). A kept-alive connection the server had
 * closed is retried once on a fresh one, before anything was answered. */
int gw_delivery_client_post(gw_delivery_client *c, const char *content_type, const gw_delivery_header *headers,
                            size_t n_headers, const void *body, size_t body_len, gw_delivery_response *resp,
                            gw_error *err);

/* Closes the kept-alive connection, if any (e.g. after a failure). */
/* GET path (with its query) on the client's host, for tools such as
 * `lmcgw status`; same connection handling and timeout as post. */
int gw_delivery_client_get(gw_delivery_client *c, const char *path, gw_delivery_response *resp, gw_error *err);

void gw_delivery_client_disconnect(gw_delivery_client *c);

/* The endpoint as parsed, for messages. */
const gw_delivery_url *gw_delivery_client_url(const gw_delivery_client *c);

void gw_delivery_response_free(gw_delivery_response *r);

#endif
