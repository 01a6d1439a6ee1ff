/* A small blocking HTTP/1.1 client over TCP or TLS (OpenSSL), for tests and
 * the benchmark tools: one request per connection unless kept. */
#ifndef LMCGW_TEST_CLIENT_H
#define LMCGW_TEST_CLIENT_H

#include <stddef.h>

typedef struct tc_tls {
  const char *ca_file;    /* verify the server against this; NULL: no TLS */
  const char *cert_file;  /* client certificate, NULL for none */
  const char *key_file;
} tc_tls;

typedef struct tc_response {
  int status;             /* 0 when no answer came (connection failed or refused) */
  char headers[4096];     /* raw header block, lower-cased names */
  char *body;             /* malloc'd, NUL-terminated */
  size_t body_len;
  char error[256];        /* why status is 0 */
} tc_response;

/* Sends one request to 127.0.0.1:port and reads the whole answer.
 * extra_headers: NULL or "Name: v\r\n" lines. Returns 0 when an answer came. */
int tc_request(int port, const tc_tls *tls, const char *method, const char *path, const char *content_type,
               const char *body, size_t body_len, const char *extra_headers, tc_response *out);
/* Sends raw bytes as they are (a malformed or partial request) and reads
 * whatever answer comes before the server closes. */
int tc_raw(int port, const tc_tls *tls, const char *raw, size_t len, tc_response *out);
void tc_response_free(tc_response *r);
/* Value of a header in r (case-insensitive name), copied into buf; NULL if absent. */
const char *tc_header(const tc_response *r, const char *name, char *buf, size_t cap);

#endif
