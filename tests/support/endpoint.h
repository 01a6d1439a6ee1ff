/* A national system's endpoint for tests: an HTTPS server thread with mutual
 * TLS that records every POST (message id, UCR, content type, envelope
 * headers, the start of the body) and answers with scripted statuses: the
 * first n from script, then dflt. Used by the delivery unit test and the
 * two-country integration test. */
#ifndef LMCGW_TEST_ENDPOINT_H
#define LMCGW_TEST_ENDPOINT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_REQ 512

typedef struct req {
  char id[64], ucr[64], ctype[64], doctype[64], origin[8], format[32], jws[64], sig[64], path[64];
  char body[1024];
  int status;
  uint64_t at;
} req;

typedef struct tsrv {
  int lfd, port;
  int stop[2];
  pthread_t th;
  SSL_CTX *ctx;
  pthread_mutex_t mu;
  int script[64];
  size_t n_script, next;
  int dflt;
  req reqs[MAX_REQ];
  size_t n_reqs;
  unsigned accepts;
} tsrv;

/* pki_dir: server.pem, server.key and ca.pem (clients must present a
 * certificate of that CA). addr: where to listen; port 0: any. NULL on error. */
tsrv *srv_start(const char *pki_dir, const char *addr, int port, int dflt, const int *script, size_t n);
void srv_set_default(tsrv *s, int status);
size_t srv_count(tsrv *s);
/* Requests answered 2xx with this message id: how a receiver deduplicates. */
size_t srv_ok_with_id(tsrv *s, const char *id);
void srv_stop(tsrv *s);
/* A free port nobody listens on (for "endpoint down"). */
int srv_free_port(void);

#endif
