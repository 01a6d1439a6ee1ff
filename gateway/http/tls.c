/* lmcgw — TLS for HTTP connections: OpenSSL driven through two memory BIOs,
 * so libuv keeps owning the socket and OpenSSL never blocks or touches it.
 *
 * Ciphertext read from the socket goes into rbio; whatever OpenSSL writes into
 * wbio (handshake, records, alerts, close_notify) is drained at once into a
 * malloc'ed buffer handed to gw_http__conn_send(). Memory BIOs keep their
 * largest size, so a BIO that grew past a few KiB is replaced once empty: an
 * idle connection does not carry the buffer of its largest request or answer.
 *
 * Ownership: the SSL_CTX belongs to the server, the SSL (and through it both
 * BIOs) to the connection; the identity is allocated here and freed with the
 * connection. */
#include "http/http_int.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define BIO_KEEP_MAX 1024u

static const char *ssl_reason(char *buf, size_t cap) {
  unsigned long e = ERR_peek_last_error();
  if (!e) snprintf(buf, cap, "unknown OpenSSL error");
  else ERR_error_string_n(e, buf, cap);
  ERR_clear_error();
  return buf;
}

/* Only HTTP/1.1 is spoken; a client offering nothing we know gets no ALPN
 * answer rather than a failed handshake. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg) {
  static const unsigned char h11[] = "\x08http/1.1";
  (void)ssl;
  (void)arg;
  unsigned char *o;
  if (SSL_select_next_proto(&o, outlen, h11, sizeof(h11) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = o;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

int gw_http__tls_ctx_new(const gw_http_config *cfg, SSL_CTX **out, gw_error *err) {
  char why[256];
  *out = NULL;
  if (!cfg->cert_file || !*cfg->cert_file || !cfg->key_file || !*cfg->key_file)
    return GW_ERR(err, GW_ECONFIG, "TLS needs a certificate file and a key file");
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return GW_ERR(err, GW_ETLS, "SSL_CTX_new: %s", ssl_reason(why, sizeof(why)));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* Client-initiated renegotiation is a CPU amplification with nothing to gain. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  /* Idle connections give their record buffers back. */
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_sess_set_cache_size(ctx, 4096);
  SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"lmcgw", 5);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  int rc = 0;
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL") != 1) {
    rc = GW_ERR(err, GW_ETLS, "TLS 1.2 cipher list: %s", ssl_reason(why, sizeof(why)));
  } else if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
    rc = GW_ERR(err, GW_ETLS, "server certificate %s: %s", cfg->cert_file, ssl_reason(why, sizeof(why)));
  } else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
    rc = GW_ERR(err, GW_ETLS, "server key %s: %s", cfg->key_file, ssl_reason(why, sizeof(why)));
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    rc = GW_ERR(err, GW_ETLS, "server key %s does not match certificate %s", cfg->key_file, cfg->cert_file);
  }
  if (!rc && cfg->client_ca_file && *cfg->client_ca_file) {
    STACK_OF(X509_NAME) *names = NULL;
    if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
      rc = GW_ERR(err, GW_ETLS, "client CA %s: %s", cfg->client_ca_file, ssl_reason(why, sizeof(why)));
    } else if (!(names = SSL_load_client_CA_file(cfg->client_ca_file))) {
      rc = GW_ERR(err, GW_ETLS, "client CA %s: no certificate names: %s", cfg->client_ca_file,
                  ssl_reason(why, sizeof(why)));
    } else {
      SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
      int mode = SSL_VERIFY_PEER | (cfg->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
      SSL_CTX_set_verify(ctx, mode, NULL);
      SSL_CTX_set_verify_depth(ctx, 8);
    }
  }
  if (rc) {
    SSL_CTX_free(ctx);
    return rc;
  }
  *out = ctx;
  return 0;
}

static BIO *new_mem_bio(void) {
  BIO *b = BIO_new(BIO_s_mem());
  /* Empty means "not yet", not end of stream. */
  if (b) BIO_set_mem_eof_return(b, -1);
  return b;
}

int gw_http__tls_conn_init(gw_http__conn *c) {
  ERR_clear_error();
  c->ssl = SSL_new(c->srv->ssl_ctx);
  BIO *r = new_mem_bio(), *w = new_mem_bio();
  if (!c->ssl || !r || !w) {
    BIO_free(r);
    BIO_free(w);
    SSL_free(c->ssl);
    c->ssl = NULL;
    ERR_clear_error();
    return GW_ENOMEM;
  }
  SSL_set_bio(c->ssl, r, w); /* takes both */
  c->rbio = r;
  c->wbio = w;
  SSL_set_accept_state(c->ssl);
  return 0;
}

void gw_http__tls_conn_free(gw_http__conn *c) {
  if (!c->ssl) return;
  SSL_free(c->ssl);
  c->ssl = NULL;
  c->rbio = c->wbio = NULL;
}

size_t gw_http__tls_backlog(const gw_http__conn *c) { return c->rbio ? BIO_ctrl_pending(c->rbio) : 0; }

static void shrink_rbio(gw_http__conn *c) {
  if (c->rbio_fed <= BIO_KEEP_MAX || BIO_ctrl_pending(c->rbio)) return;
  BIO *b = new_mem_bio();
  if (!b) return;
  SSL_set0_rbio(c->ssl, b); /* frees the old one */
  c->rbio = b;
  c->rbio_fed = 0;
}

static void shrink_wbio(gw_http__conn *c, size_t largest) {
  if (largest <= BIO_KEEP_MAX || BIO_ctrl_pending(c->wbio)) return;
  BIO *b = new_mem_bio();
  if (!b) return;
  SSL_set0_wbio(c->ssl, b); /* frees the old one, keeps OpenSSL's own buffering */
  c->wbio = b;
}

/* Sends whatever OpenSSL produced. */
static int flush(gw_http__conn *c) {
  size_t pending = BIO_ctrl_pending(c->wbio);
  if (!pending) return 0;
  char *buf = malloc(pending);
  if (!buf) {
    gw_http__conn_abort(c);
    return GW_ENOMEM;
  }
  int n = BIO_read(c->wbio, buf, (int)pending);
  if (n <= 0) {
    free(buf);
    return 0;
  }
  if (c->tls_done) shrink_wbio(c, pending);
  return gw_http__conn_send(c, buf, (size_t)n);
}

/* Copies one subject attribute (the first of its kind) as UTF-8. A value that
 * does not fit, or carries NUL or control characters, fails: an identity used
 * for authorisation is never truncated or guessed. */
static int name_field(X509_NAME *nm, int nid, char *out, size_t cap) {
  out[0] = '\0';
  int i = X509_NAME_get_index_by_NID(nm, nid, -1);
  if (i < 0) return 0;
  ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
  unsigned char *u = NULL;
  int len = ASN1_STRING_to_UTF8(&u, s);
  if (len < 0) return -1;
  int bad = (size_t)len >= cap;
  for (int k = 0; !bad && k < len; k++)
    if (u[k] < 0x20 || u[k] == 0x7f) bad = 1;
  if (!bad) {
    memcpy(out, u, (size_t)len);
    out[len] = '\0';
  }
  OPENSSL_free(u);
  return bad ? -1 : 0;
}

static int subject_string(X509_NAME *nm, char *out, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return -1;
  /* RFC 2253 with its escapes, but UTF-8 kept readable. */
  int rc = X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char *p = NULL;
  long len = BIO_get_mem_data(b, &p);
  if (rc < 0 || len < 0 || (size_t)len >= cap) rc = -1;
  else {
    memcpy(out, p, (size_t)len);
    out[len] = '\0';
    rc = 0;
  }
  BIO_free(b);
  return rc;
}

static int take_identity(gw_http__conn *c) {
  if (!c->srv->has_client_ca) return 0;
  X509 *cert = SSL_get0_peer_certificate(c->ssl);
  if (!cert) return 0; /* optional client certificate not sent */
  if (SSL_get_verify_result(c->ssl) != X509_V_OK) return -1;
  gw_identity *id = calloc(1, sizeof(*id));
  if (!id) return -1;
  X509_NAME *nm = X509_get_subject_name(cert);
  if (name_field(nm, NID_countryName, id->country, sizeof(id->country)) ||
      name_field(nm, NID_organizationName, id->org, sizeof(id->org)) ||
      name_field(nm, NID_organizationalUnitName, id->org_unit, sizeof(id->org_unit)) ||
      name_field(nm, NID_commonName, id->cn, sizeof(id->cn)) || subject_string(nm, id->subject, sizeof(id->subject))) {
    gw_log(GW_LOG_WARN, "tls_identity", "client %s: certificate subject does not fit the identity fields", c->peer);
    free(id);
    return -1;
  }
  id->authenticated = 1;
  c->identity = id;
  return 0;
}

static void handshake_failed(gw_http__conn *c, const char *why) {
  c->tls_failed = 1;
  gw_http__count(&c->srv->stats.tls_handshake_failures);
  gw_log(GW_LOG_DEBUG, "tls_handshake", "client %s: %s", c->peer, why);
}

int gw_http__tls_feed(gw_http__conn *c, const char *data, size_t len) {
  if (c->tls_failed) return GW_ETLS;
  if (BIO_write(c->rbio, data, (int)len) != (int)len) {
    gw_http__conn_abort(c);
    return GW_ENOMEM;
  }
  size_t pending = BIO_ctrl_pending(c->rbio);
  if (pending > c->rbio_fed) c->rbio_fed = pending;
  if (c->tls_done) return 0;
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->tls_done = 1;
    if (flush(c) || c->dead) return GW_EIO;
    /* The handshake flights sized both BIOs; an idle connection keeps neither. */
    shrink_wbio(c, SIZE_MAX);
    shrink_rbio(c);
    if (take_identity(c)) {
      handshake_failed(c, "client certificate refused");
      return GW_ETLS;
    }
    gw_http__conn_tls_ready(c);
    return 0;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    return flush(c) || c->dead ? GW_EIO : 0;
  }
  char why[256];
  long v = SSL_get_verify_result(c->ssl);
  if (v != X509_V_OK) snprintf(why, sizeof(why), "certificate: %s", X509_verify_cert_error_string(v));
  else ssl_reason(why, sizeof(why));
  handshake_failed(c, why);
  flush(c); /* the alert, so the client learns why */
  ERR_clear_error();
  return GW_ETLS;
}

int gw_http__tls_read(gw_http__conn *c, char *buf, size_t cap) {
  if (c->tls_failed) return GW_ETLS;
  ERR_clear_error();
  int n = SSL_read(c->ssl, buf, (int)cap);
  int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
  /* Reading may produce output too (key updates, alerts). */
  if (BIO_ctrl_pending(c->wbio) && (flush(c) || c->dead)) return GW_EIO;
  shrink_rbio(c);
  if (n > 0) return n;
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_READ) return 0;
  if (e == SSL_ERROR_ZERO_RETURN) return GW_HTTP__TLS_EOF;
  c->tls_failed = 1; /* no close_notify after a fatal error */
  return GW_ETLS;
}

int gw_http__tls_write(gw_http__conn *c, const char *data, size_t len) {
  if (c->dead) return UV_ECANCELED;
  if (c->tls_failed || !c->tls_done) return GW_ETLS;
  /* One 16 KiB record at a time, drained after each, so wbio never holds more
   * than a record; the ciphertext is gathered into one buffer for one write. */
  size_t cap = len + (len / 16384 + 1) * 64 + 64, olen = 0, largest = 0;
  char *out = malloc(cap);
  if (!out) {
    gw_http__conn_abort(c);
    return GW_ENOMEM;
  }
  for (size_t off = 0; off < len;) {
    int chunk = (int)(len - off < 16384 ? len - off : 16384);
    ERR_clear_error();
    int n = SSL_write(c->ssl, data + off, chunk);
    if (n <= 0) {
      ERR_clear_error();
      c->tls_failed = 1;
      free(out);
      gw_http__conn_abort(c);
      return GW_ETLS;
    }
    off += (size_t)n;
    size_t pending = BIO_ctrl_pending(c->wbio);
    if (pending > largest) largest = pending;
    if (olen + pending > cap) {
      size_t ncap = (olen + pending) * 2;
      char *p = realloc(out, ncap);
      if (!p) {
        free(out);
        gw_http__conn_abort(c);
        return GW_ENOMEM;
      }
      out = p;
      cap = ncap;
    }
    int got = BIO_read(c->wbio, out + olen, (int)pending);
    if (got > 0) olen += (size_t)got;
  }
  shrink_wbio(c, largest);
  return gw_http__conn_send(c, out, olen);
}

void gw_http__tls_shutdown(gw_http__conn *c) {
  ERR_clear_error();
  SSL_shutdown(c->ssl); /* queues close_notify; we do not wait for the client's */
  ERR_clear_error();
  flush(c);
}
