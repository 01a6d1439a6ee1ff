/* A national system's endpoint for tests: an HTTPS server thread with mutual
 * TLS (the test PKI of scripts/test-pki.sh) that records every POST and
 * answers with scripted statuses. See endpoint.h. */
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}


static int srv_listen(const char *addr, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, addr, &sa.sin_addr);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
    close(fd);
    return -1;
  }
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in sa;
  socklen_t l = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &l);
  return ntohs(sa.sin_port);
}

/* A free port nobody listens on (for "endpoint down"). */
int srv_free_port(void) {
  int fd = srv_listen("127.0.0.1", 0);
  int p = port_of(fd);
  close(fd);
  return p;
}

static int wait_in(tsrv *s, int fd, SSL *ssl) {
  if (ssl && SSL_pending(ssl)) return 1;
  struct pollfd p[2] = {{fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
  for (;;) {
    int n = poll(p, 2, 30000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (p[1].revents & POLLIN)) return 0;
    return 1;
  }
}

static void hdr_get(const char *head, const char *name, char *out, size_t cap) {
  out[0] = 0;
  size_t nl = strlen(name);
  for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
    const char *h = l + 2;
    if (!strncasecmp(h, name, nl) && h[nl] == ':') {
      h += nl + 1;
      while (*h == ' ') h++;
      size_t n = strcspn(h, "\r");
      snprintf(out, cap, "%.*s", (int)n, h);
      return;
    }
  }
}

static char *find_crlf2(char *b, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++)
    if (!memcmp(b + i, "\r\n\r\n", 4)) return b + i;
  return NULL;
}

static void serve_conn(tsrv *s, int fd) {
  SSL *ssl = SSL_new(s->ctx);
  SSL_set_fd(ssl, fd);
  if (!wait_in(s, fd, NULL) || SSL_accept(ssl) != 1) goto out;
  char buf[65536];
  size_t have = 0;
  for (;;) {
    char *end;
    while (!(end = find_crlf2(buf, have))) {
      if (have == sizeof(buf) || !wait_in(s, fd, ssl)) goto out;
      int n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have));
      if (n <= 0) goto out;
      have += (size_t)n;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char head[8192];
    snprintf(head, sizeof(head), "%.*s", (int)head_len, buf);
    char cl[32];
    hdr_get(head, "Content-Length", cl, sizeof(cl));
    size_t body_len = (size_t)strtoul(cl, NULL, 10);
    while (have < head_len + body_len) {
      if (!wait_in(s, fd, ssl)) goto out;
      int n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have));
      if (n <= 0) goto out;
      have += (size_t)n;
    }
    req r = {0};
    hdr_get(head, "X-Message-Id", r.id, sizeof(r.id));
    hdr_get(head, "X-UCR", r.ucr, sizeof(r.ucr));
    hdr_get(head, "Content-Type", r.ctype, sizeof(r.ctype));
    hdr_get(head, "X-Lmcgw-Document-Type", r.doctype, sizeof(r.doctype));
    hdr_get(head, "X-Lmcgw-Origin", r.origin, sizeof(r.origin));
    hdr_get(head, "X-Lmcgw-Format", r.format, sizeof(r.format));
    hdr_get(head, "X-Lmcgw-Jws", r.jws, sizeof(r.jws));
    hdr_get(head, "X-Lmcgw-Signature", r.sig, sizeof(r.sig));
    sscanf(head, "POST %63s", r.path);
    snprintf(r.body, sizeof(r.body), "%.*s", (int)body_len, buf + head_len);
    r.at = now_ms();
    pthread_mutex_lock(&s->mu);
    r.status = s->next < s->n_script ? s->script[s->next++] : s->dflt;
    if (s->n_reqs < MAX_REQ) s->reqs[s->n_reqs++] = r;
    pthread_mutex_unlock(&s->mu);
    const char *why = r.status == 422 ? "{\"errors\":[{\"code\":\"invalid\",\"message\":\"LRN unknown\"}]}" : "ok";
    char ans[512];
    int al = snprintf(ans, sizeof(ans), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      r.status, strlen(why), why);
    if (SSL_write(ssl, ans, al) != al) goto out;
    memmove(buf, buf + head_len + body_len, have - head_len - body_len);
    have -= head_len + body_len;
  }
out:
  SSL_free(ssl);
  close(fd);
}

static void *srv_main(void *arg) {
  tsrv *s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno == EINTR) continue;
    if (p[1].revents & POLLIN) break;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) continue;
    pthread_mutex_lock(&s->mu);
    s->accepts++;
    pthread_mutex_unlock(&s->mu);
    serve_conn(s, fd);
  }
  return NULL;
}

static void srv_stop_early(tsrv *s) {
  if (s->ctx) SSL_CTX_free(s->ctx);
  close(s->lfd);
  close(s->stop[0]);
  close(s->stop[1]);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

tsrv *srv_start(const char *pki_dir, const char *addr, int port, int dflt, const int *script, size_t n) {
  tsrv *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->lfd = srv_listen(addr, port);
  if (s->lfd < 0 || pipe(s->stop)) {
    if (s->lfd >= 0) close(s->lfd);
    free(s);
    return NULL;
  }
  s->port = port_of(s->lfd);
  pthread_mutex_init(&s->mu, NULL);
  s->dflt = dflt;
  if (n) memcpy(s->script, script, n * sizeof(int));
  s->n_script = n;
  char cert[1024], key[1024], ca[1024];
  snprintf(cert, sizeof(cert), "%s/server.pem", pki_dir);
  snprintf(key, sizeof(key), "%s/server.key", pki_dir);
  snprintf(ca, sizeof(ca), "%s/ca.pem", pki_dir);
  s->ctx = SSL_CTX_new(TLS_server_method());
  /* Mutual TLS, as a national system would ask. */
  if (!s->ctx || SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(s->ctx, ca, NULL) != 1) {
    srv_stop_early(s);
    return NULL;
  }
  SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  if (pthread_create(&s->th, NULL, srv_main, s)) {
    srv_stop_early(s);
    return NULL;
  }
  return s;
}

void srv_set_default(tsrv *s, int status) {
  pthread_mutex_lock(&s->mu);
  s->dflt = status;
  pthread_mutex_unlock(&s->mu);
}

size_t srv_count(tsrv *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n_reqs;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* Requests answered 2xx, by message id: how a receiver deduplicates. */
size_t srv_ok_with_id(tsrv *s, const char *id) {
  size_t n = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n_reqs; i++) n += s->reqs[i].status / 100 == 2 && !strcmp(s->reqs[i].id, id);
  pthread_mutex_unlock(&s->mu);
  return n;
}

void srv_stop(tsrv *s) {
  if (write(s->stop[1], "x", 1) != 1) abort();
  pthread_join(s->th, NULL);
  close(s->lfd);
  close(s->stop[0]);
  close(s->stop[1]);
  SSL_CTX_free(s->ctx);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

