/* lmcgw bench — what one idle mutual-TLS connection holds in OpenSSL.
 *
 * The gateway's own server context (gw_http__tls_ctx_new, from --config) and
 * its way of making a connection (an SSL over two memory BIOs); a client with
 * the given certificate does the handshake and one request and answer over
 * each of N connections, then every server SSL is kept open with fresh BIOs,
 * as the gateway keeps an idle keep-alive connection. OpenSSL's allocations are counted through
 * CRYPTO_set_mem_functions while the server side works (the client's are
 * not): live bytes per connection, by the allocating source line.
 *
 * It answers why 10,000 idle connections cost what they cost: the gateway's
 * RSS per connection is this, plus the allocator's overhead, plus the
 * gateway's own connection state (gw_http__conn, about 1 KB).
 *
 *   lmcgw-tlsmem --config FILE --client-cert PEM --client-key PEM [--conns N]
 *
 * Output: a markdown table on stdout. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/error.h"
#include "http/http.h"
#include "http/http_int.h"

#define MAX_SITES 4096

typedef struct site {
  char where[80]; /* file:line, the file without its folders */
  long live;      /* bytes now allocated from here */
  long count;     /* allocations now live from here */
} site;

static site sites[MAX_SITES];
static int n_sites;
static int counting; /* only the server side's allocations count */

/* Each block carries its size and site in front, so free knows what to take
 * back; blocks made while not counting have site -1. */
typedef struct block {
  size_t size;
  int site;
  int pad_;
} block;

static int site_of(const char *file, int line) {
  const char *base = file ? strrchr(file, '/') : NULL;
  char key[80];
  snprintf(key, sizeof(key), "%s:%d", base ? base + 1 : file ? file : "?", line);
  for (int i = 0; i < n_sites; i++)
    if (!strcmp(sites[i].where, key)) return i;
  if (n_sites == MAX_SITES) return MAX_SITES - 1; /* the last one holds the rest */
  snprintf(sites[n_sites].where, sizeof(sites[n_sites].where), "%s", key);
  return n_sites++;
}

static void *mem_alloc(size_t n, const char *file, int line) {
  block *b = malloc(sizeof(*b) + n);
  if (!b) return NULL;
  b->size = n;
  b->site = counting ? site_of(file, line) : -1;
  if (b->site >= 0) {
    sites[b->site].live += (long)n;
    sites[b->site].count++;
  }
  return b + 1;
}

static void mem_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (!p) return;
  block *b = (block *)p - 1;
  if (b->site >= 0) {
    sites[b->site].live -= (long)b->size;
    sites[b->site].count--;
  }
  free(b);
}

static void *mem_realloc(void *p, size_t n, const char *file, int line) {
  if (!p) return mem_alloc(n, file, line);
  block *old = (block *)p - 1;
  void *q = mem_alloc(n, file, line);
  if (!q) return NULL;
  memcpy(q, p, old->size < n ? old->size : n);
  mem_free(p, file, line);
  return q;
}

static void die(const char *what, const char *why) {
  fprintf(stderr, "lmcgw-tlsmem: %s: %s\n", what, why);
  exit(1);
}

static void pump(SSL *from, SSL *to) {
  char buf[65536];
  for (int n; (n = BIO_read(SSL_get_wbio(from), buf, sizeof(buf))) > 0;) BIO_write(SSL_get_rbio(to), buf, n);
}

static SSL *ssl_over_memory(SSL_CTX *ctx) {
  SSL *s = SSL_new(ctx);
  BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
  if (!s || !r || !w) die("OpenSSL", "out of memory");
  BIO_set_mem_eof_return(r, -1); /* as the gateway's: empty means "not yet" */
  BIO_set_mem_eof_return(w, -1);
  SSL_set_bio(s, r, w);
  return s;
}

static int by_live(const void *a, const void *b) {
  long x = ((const site *)a)->live, y = ((const site *)b)->live;
  return (y > x) - (y < x);
}

int main(int argc, char **argv) {
  /* Before anything else touches OpenSSL. */
  if (!CRYPTO_set_mem_functions(mem_alloc, mem_realloc, mem_free)) die("OpenSSL", "allocator already in use");
  const char *config = NULL, *ccert = NULL, *ckey = NULL;
  long conns = 1000;
  static const struct option opts[] = {{"config", 1, 0, 'f'}, {"client-cert", 1, 0, 'c'}, {"client-key", 1, 0, 'k'},
                                       {"conns", 1, 0, 'n'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
    switch (o) {
    case 'f': config = optarg; break;
    case 'c': ccert = optarg; break;
    case 'k': ckey = optarg; break;
    case 'n': conns = strtol(optarg, NULL, 10); break;
    default:
      fprintf(stderr, "usage: lmcgw-tlsmem --config FILE --client-cert PEM --client-key PEM [--conns N (1000)]\n");
      return o == 'h' ? 0 : 2;
    }
  }
  if (!config || !ccert || !ckey || conns < 1) die("usage", "--config, --client-cert and --client-key are needed");
  gw_config cfg;
  gw_error err = {0};
  if (gw_config_load(&cfg, config, NULL, &err)) die(config, err.msg);
  if (cfg.plain_http) die(config, "http.plain is on: no TLS to measure");
  gw_http_config hc = {.tls = 1, .cert_file = cfg.tls_cert, .key_file = cfg.tls_key,
                       .client_ca_file = cfg.tls_client_ca, .require_client_cert = cfg.tls_require_client_cert};
  SSL_CTX *sctx = NULL, *cctx = SSL_CTX_new(TLS_client_method());
  if (gw_http__tls_ctx_new(&hc, &sctx, &err)) die("server context", err.msg);
  if (!cctx || SSL_CTX_use_certificate_chain_file(cctx, ccert) != 1 ||
      SSL_CTX_use_PrivateKey_file(cctx, ckey, SSL_FILETYPE_PEM) != 1)
    die(ccert, "the client certificate or key does not load");

  SSL **held = calloc((size_t)conns, sizeof(*held));
  if (!held) die("memory", "out of memory");
  static const char request[] = "POST /v1/messages HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n";
  char answer[3072], buf[8192];
  memset(answer, 'a', sizeof(answer));
  for (long i = 0; i < conns; i++) {
    counting = 1;
    SSL *s = ssl_over_memory(sctx);
    SSL_set_accept_state(s);
    counting = 0;
    SSL *c = ssl_over_memory(cctx);
    SSL_set_connect_state(c);
    for (int k = 0; k < 20 && !(SSL_is_init_finished(s) && SSL_is_init_finished(c)); k++) {
      SSL_do_handshake(c);
      pump(c, s);
      counting = 1;
      SSL_do_handshake(s);
      counting = 0;
      pump(s, c);
    }
    if (!SSL_is_init_finished(s) || !SSL_is_init_finished(c)) {
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      die("handshake", buf);
    }
    SSL_write(c, request, (int)sizeof(request) - 1);
    pump(c, s);
    counting = 1;
    if (SSL_read(s, buf, sizeof(buf)) <= 0 || SSL_write(s, answer, sizeof(answer)) <= 0) die("TLS", "server side failed");
    counting = 0;
    pump(s, c);
    while (SSL_read(c, buf, sizeof(buf)) > 0) {
    }
    counting = 1;
    SSL_read(s, buf, sizeof(buf)); /* nothing more: what an idle connection's last read leaves */
    /* The gateway gives an idle connection fresh, empty BIOs (tls.c shrink_*). */
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    if (!r || !w) die("OpenSSL", "out of memory");
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set0_rbio(s, r);
    SSL_set0_wbio(s, w);
    counting = 0;
    SSL_free(c);
    held[i] = s;
  }

  long total = 0, blocks = 0;
  for (int i = 0; i < n_sites; i++) total += sites[i].live, blocks += sites[i].count;
  qsort(sites, (size_t)n_sites, sizeof(sites[0]), by_live);
  printf("## OpenSSL's memory per idle mutual-TLS connection (%ld connections, %s)\n\n", conns,
         OpenSSL_version(OPENSSL_VERSION));
  printf("%ld bytes in %.0f blocks a connection (the allocator adds its own overhead to each block)\n\n",
         total / conns, (double)blocks / (double)conns);
  printf("| allocated at | bytes a connection | blocks a connection |\n|---|---:|---:|\n");
  for (int i = 0; i < n_sites && sites[i].live / conns >= 64; i++)
    printf("| %s | %ld | %.1f |\n", sites[i].where, sites[i].live / conns, (double)sites[i].count / (double)conns);
  for (long i = 0; i < conns; i++) SSL_free(held[i]);
  free(held);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  gw_config_free(&cfg);
  return 0;
}
