/* lmcgw — the development PKI and the CRL helper (see pki.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pki/pki.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* First line of DIR/README.txt: what --force looks for before deleting anything. */
#define MARKER "lmcgw development PKI"
#define NCOUNTRIES 6

static const char *const all_countries[NCOUNTRIES] = {"CN", "KH", "LA", "MM", "TH", "VN"};

static const char layout_text[] =
    "For each country CC:\n"
    "  CC/trust/   what belongs in the trust store certs/CC/: root.pem (the\n"
    "              anchor), customs-ca.pem, plant-protection-ca.pem and\n"
    "              animal-health-ca.pem (issuing CAs, signed by the root), and a\n"
    "              CRL for each of the four CAs in PEM (root.crl, customs-ca.crl,\n"
    "              plant-protection-ca.crl, animal-health-ca.crl), empty, next\n"
    "              update in 30 days\n"
    "  CC/keys/    private keys (unencrypted PKCS#8 PEM, files 0600, folder 0700):\n"
    "              the CA keys root.key, customs-ca.key, ... and one per leaf\n"
    "  CC/certs/   leaf certificates NAME.pem and NAME-chain.pem (the leaf, then\n"
    "              its issuing CA; give the -chain.pem to TLS), for NAME:\n"
    "                gateway-signer  the gateway's signing cert (customs CA;\n"
    "                                digitalSignature, nonRepudiation)\n"
    "                gateway-tls     the gateway's TLS server cert (customs CA;\n"
    "                                serverAuth, DNS:localhost, IP:127.0.0.1)\n"
    "                customs-system  client, OU=customs-system (customs CA)\n"
    "                trader          client, OU=trader (customs CA)\n"
    "                inspector       client, OU=inspector (plant-protection CA)\n"
    "                admin           client, OU=admin (customs CA)\n"
    "                nppo-signer     signs SPS certificates (plant-protection CA;\n"
    "                                digitalSignature, nonRepudiation)\n"
    "ca-bundle.pem   every country's root: the gateway's tls.client_ca for mutual\n"
    "                TLS (clients present their -chain.pem)\n"
    "README.txt      what was made: file, subject, issuer, serial, validity\n";

const char *gw_pki_layout_text(void) { return layout_text; }

int gw_pki_algorithm_parse(const char *name) {
  if (!name) return -1;
  if (!strcasecmp(name, "ec-p256") || !strcasecmp(name, "ec") || !strcasecmp(name, "p-256")) return GW_PKI_EC_P256;
  if (!strcasecmp(name, "rsa-2048") || !strcasecmp(name, "rsa")) return GW_PKI_RSA_2048;
  return -1;
}

const char *gw_pki_algorithm_name(gw_pki_algorithm alg) { return alg == GW_PKI_RSA_2048 ? "rsa-2048" : "ec-p256"; }

/* OpenSSL's last reason, then its queue emptied so the next failure starts clean. */
static const char *ossl_why(char *buf, size_t n) {
  unsigned long e = ERR_peek_last_error();
  if (e) ERR_error_string_n(e, buf, n);
  else snprintf(buf, n, "no detail from OpenSSL");
  ERR_clear_error();
  return buf;
}

static int pathf(char *buf, size_t n, gw_error *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int pathf(char *buf, size_t n, gw_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf, n, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= n) return GW_ERR(err, GW_EINVAL, "path too long: %.200s...", buf);
  return 0;
}

/* ---- certificates ----------------------------------------------------------- */

typedef struct subject {
  const char *c, *o, *ou, *cn;
} subject;

typedef struct ext {
  int nid;
  const char *value;
} ext;

/* A key and its certificate; for a CA also the CRL it signs. */
typedef struct issued {
  EVP_PKEY *key;
  X509 *cert;
  X509_CRL *crl;
} issued;

static void issued_free(issued *i) {
  EVP_PKEY_free(i->key);
  X509_free(i->cert);
  X509_CRL_free(i->crl);
  memset(i, 0, sizeof(*i));
}

static EVP_PKEY *gen_key(gw_pki_algorithm alg) {
  return alg == GW_PKI_RSA_2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

static int name_add(X509_NAME *n, const char *field, const char *value) {
  return !value || X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0);
}

/* Extensions are added in order: the subject key id must come before an
 * authority key id that may have to read it. */
static int add_exts(X509 *x, X509 *issuer, const ext *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, e[i].nid, e[i].value);
    int ok = ex && X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
    if (!ok) return -1;
  }
  return 0;
}

/* 159 random bits with the top one set: positive, at most 20 octets as RFC 5280
 * asks, never zero, and unpredictable. */
static int random_serial(ASN1_INTEGER *out) {
  BIGNUM *bn = BN_new();
  int ok = bn && BN_rand(bn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) && BN_to_ASN1_INTEGER(bn, out);
  BN_free(bn);
  return ok;
}

/* Makes out->key and out->cert for s, signed by issuer (NULL: self-signed).
 * Validity starts an hour back so a peer whose clock is a little behind
 * accepts it at once. */
static int issue(gw_pki_algorithm alg, const subject *s, const issued *issuer, time_t now, int days, const ext *e,
                 size_t ne, const char *what, issued *out, gw_error *err) {
  char why[256];
  out->key = gen_key(alg);
  out->cert = X509_new();
  X509 *x = out->cert;
  if (!out->key || !x)
    return GW_ERR(err, GW_ECRYPTO, "cannot generate the key of %s: %s", what, ossl_why(why, sizeof(why)));
  X509_NAME *name = X509_get_subject_name(x);
  X509 *icert = issuer ? issuer->cert : x;
  EVP_PKEY *ikey = issuer ? issuer->key : out->key;
  if (!X509_set_version(x, X509_VERSION_3) || !random_serial(X509_get_serialNumber(x)) ||
      !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) || !X509_set_pubkey(x, out->key) ||
      !name_add(name, "C", s->c) || !name_add(name, "O", s->o) || !name_add(name, "OU", s->ou) ||
      !name_add(name, "CN", s->cn) || !X509_set_issuer_name(x, X509_get_subject_name(icert)))
    return GW_ERR(err, GW_ECRYPTO, "cannot fill in the certificate of %s: %s", what, ossl_why(why, sizeof(why)));
  if (add_exts(x, icert, e, ne))
    return GW_ERR(err, GW_ECRYPTO, "cannot add the extensions of %s: %s", what, ossl_why(why, sizeof(why)));
  if (X509_sign(x, ikey, EVP_sha256()) <= 0)
    return GW_ERR(err, GW_ECRYPTO, "cannot sign the certificate of %s: %s", what, ossl_why(why, sizeof(why)));
  return 0;
}

static int crl_set_times(X509_CRL *crl, time_t now, time_t last_offset) {
  ASN1_TIME *last = X509_time_adj_ex(NULL, 0, (long)last_offset, &now);
  ASN1_TIME *next = X509_time_adj_ex(NULL, GW_PKI_CRL_DAYS, 0, &now);
  int ok = last && next && X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  return ok;
}

static void crl_drop_ext(X509_CRL *crl, int nid) {
  int i;
  while ((i = X509_CRL_get_ext_by_NID(crl, nid, -1)) >= 0) X509_EXTENSION_free(X509_CRL_delete_ext(crl, i));
}

/* Sets CRL number and authority key id (replacing any), sorts the entries and
 * signs with the CA's key. */
static int crl_seal(X509_CRL *crl, X509 *ca, EVP_PKEY *ca_key, const BIGNUM *number) {
  ASN1_INTEGER *num = BN_to_ASN1_INTEGER(number, NULL);
  crl_drop_ext(crl, NID_crl_number);
  crl_drop_ext(crl, NID_authority_key_identifier);
  int ok = num && X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
  ASN1_INTEGER_free(num);
  if (ok) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    ok = ex && X509_CRL_add_ext(crl, ex, -1);
    X509_EXTENSION_free(ex);
  }
  return ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0;
}

static int make_crl(issued *ca, time_t now, const char *what, gw_error *err) {
  char why[256];
  BIGNUM *one = BN_new();
  ca->crl = X509_CRL_new();
  int ok = one && BN_one(one) && ca->crl && X509_CRL_set_version(ca->crl, X509_CRL_VERSION_2) &&
           X509_CRL_set_issuer_name(ca->crl, X509_get_subject_name(ca->cert)) && crl_set_times(ca->crl, now, -3600) &&
           crl_seal(ca->crl, ca->cert, ca->key, one);
  BN_free(one);
  if (!ok) return GW_ERR(err, GW_ECRYPTO, "cannot make the CRL of %s: %s", what, ossl_why(why, sizeof(why)));
  return 0;
}

/* ---- files ------------------------------------------------------------------ */

/* Created with its final mode, never widened afterwards; O_EXCL because the
 * build directory is new and anything already there is a mistake. */
static FILE *create_file(const char *path, mode_t mode, gw_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    GW_ERR(err, GW_EIO, "cannot create %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
  }
  return f;
}

static int close_file(FILE *f, int ok, const char *path, gw_error *err) {
  int bad = ferror(f) || !ok;
  if (fclose(f)) bad = 1;
  return bad ? GW_ERR(err, GW_EIO, "cannot write %s", path) : 0;
}

static int write_key(const char *path, EVP_PKEY *k, gw_error *err) {
  FILE *f = create_file(path, 0600, err);
  if (!f) return err ? err->code : GW_EIO;
  return close_file(f, PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), path, err);
}

static int write_certs(const char *path, X509 *a, X509 *b, gw_error *err) {
  FILE *f = create_file(path, 0644, err);
  if (!f) return err ? err->code : GW_EIO;
  return close_file(f, PEM_write_X509(f, a) && (!b || PEM_write_X509(f, b)), path, err);
}

static int write_crl(const char *path, X509_CRL *crl, gw_error *err) {
  FILE *f = create_file(path, 0644, err);
  if (!f) return err ? err->code : GW_EIO;
  return close_file(f, PEM_write_X509_CRL(f, crl), path, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

/* FTW_PHYS: a symbolic link is removed, never followed. */
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- the PKI ------------------------------------------------------------------ */

enum { CA_CUSTOMS, CA_PLANT, CA_ANIMAL, N_AGENCIES };

static const struct agency {
  const char *file, *org;
} agencies[N_AGENCIES] = {
    {"customs-ca", "Customs"},
    {"plant-protection-ca", "Plant Protection"},
    {"animal-health-ca", "Animal Health"},
};

typedef enum leaf_kind { LEAF_SIGNER, LEAF_SERVER, LEAF_CLIENT } leaf_kind;

/* {CC} and {cc} in org and cn stand for the country code, upper and lower case. */
static const struct leaf_def {
  const char *file;
  int ca;
  leaf_kind kind;
  const char *org, *ou, *cn;
} leaf_defs[] = {
    {"gateway-signer", CA_CUSTOMS, LEAF_SIGNER, "{CC} Customs (development)", NULL, "lmcgw gateway {CC}"},
    {"gateway-tls", CA_CUSTOMS, LEAF_SERVER, "{CC} Customs (development)", NULL, "localhost"},
    {"customs-system", CA_CUSTOMS, LEAF_CLIENT, "{CC} Customs (development)", "customs-system", "{cc}-customs-system"},
    {"trader", CA_CUSTOMS, LEAF_CLIENT, "{CC} Trade Portal (development)", "trader", "{cc}-trader-portal"},
    {"inspector", CA_PLANT, LEAF_CLIENT, "{CC} Plant Protection (development)", "inspector", "{cc}-inspector-01"},
    {"admin", CA_CUSTOMS, LEAF_CLIENT, "{CC} lmcgw operations (development)", "admin", "{cc}-gateway-admin"},
    {"nppo-signer", CA_PLANT, LEAF_SIGNER, "{CC} Plant Protection (development)", NULL, "{CC} NPPO signer"},
};

static void expand(char *out, size_t n, const char *tmpl, const char *cc) {
  size_t o = 0;
  for (const char *p = tmpl; *p && o + 1 < n;) {
    if (!strncmp(p, "{CC}", 4) || !strncmp(p, "{cc}", 4)) {
      for (int i = 0; i < 2 && o + 1 < n; i++)
        out[o++] = p[1] == 'c' ? (char)(cc[i] - 'A' + 'a') : cc[i];
      p += 4;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
}

typedef struct build {
  const char *root; /* the build directory */
  FILE *readme, *bundle;
  time_t now;
  gw_pki_algorithm alg;
  int leaf_days;
} build;

static void readme_entry(build *b, const char *rel, const char *what, X509 *x) {
  char until[32] = "?";
  struct tm tm;
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) strftime(until, sizeof(until), "%Y-%m-%d", &tm);
  char *serial = NULL;
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  if (bn) serial = BN_bn2hex(bn);
  fprintf(b->readme, "  %s\n      %s\n      subject ", rel, what);
  X509_NAME_print_ex_fp(b->readme, X509_get_subject_name(x), 0, XN_FLAG_ONELINE);
  fprintf(b->readme, "\n      issuer  ");
  X509_NAME_print_ex_fp(b->readme, X509_get_issuer_name(x), 0, XN_FLAG_ONELINE);
  fprintf(b->readme, "\n      serial %s, valid until %s\n", serial ? serial : "?", until);
  OPENSSL_free(serial);
  BN_free(bn);
}

static int save_ca(build *b, const char *cc, const char *name, issued *ca, const char *what, gw_error *err) {
  char p[PATH_MAX];
  int rc = pathf(p, sizeof(p), err, "%s/%s/keys/%s.key", b->root, cc, name);
  if (!rc) rc = write_key(p, ca->key, err);
  if (!rc) rc = pathf(p, sizeof(p), err, "%s/%s/trust/%s.pem", b->root, cc, name);
  if (!rc) rc = write_certs(p, ca->cert, NULL, err);
  if (!rc) rc = pathf(p, sizeof(p), err, "%s/%s/trust/%s.crl", b->root, cc, name);
  if (!rc) rc = write_crl(p, ca->crl, err);
  if (rc) return rc;
  char rel[160];
  snprintf(rel, sizeof(rel), "%s/trust/%s.pem (.crl, key in keys/%s.key)", cc, name, name);
  readme_entry(b, rel, what, ca->cert);
  return 0;
}

static int save_leaf(build *b, const char *cc, const struct leaf_def *d, issued *leaf, X509 *ca, const char *what,
                     gw_error *err) {
  char p[PATH_MAX];
  int rc = pathf(p, sizeof(p), err, "%s/%s/keys/%s.key", b->root, cc, d->file);
  if (!rc) rc = write_key(p, leaf->key, err);
  if (!rc) rc = pathf(p, sizeof(p), err, "%s/%s/certs/%s.pem", b->root, cc, d->file);
  if (!rc) rc = write_certs(p, leaf->cert, NULL, err);
  if (!rc) rc = pathf(p, sizeof(p), err, "%s/%s/certs/%s-chain.pem", b->root, cc, d->file);
  if (!rc) rc = write_certs(p, leaf->cert, ca, err);
  if (rc) return rc;
  char rel[160];
  snprintf(rel, sizeof(rel), "%s/certs/%s.pem (-chain.pem, key in keys/%s.key)", cc, d->file, d->file);
  readme_entry(b, rel, what, leaf->cert);
  return 0;
}

static int make_dirs(const build *b, const char *cc, gw_error *err) {
  static const struct {
    const char *sub;
    mode_t mode;
  } dirs[] = {{"", 0755}, {"/trust", 0755}, {"/keys", 0700}, {"/certs", 0755}};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    char p[PATH_MAX];
    int rc = pathf(p, sizeof(p), err, "%s/%s%s", b->root, cc, dirs[i].sub);
    if (rc) return rc;
    /* chmod too: a umask must not loosen or tighten what the layout promises. */
    if (mkdir(p, dirs[i].mode) || chmod(p, dirs[i].mode))
      return GW_ERR(err, GW_EIO, "cannot create %s: %s", p, strerror(errno));
  }
  return 0;
}

static int build_country(build *b, const char *cc, gw_error *err) {
  issued root = {0}, ca[N_AGENCIES] = {{0}};
  char o[128], cn[128], what[160];
  int rc = make_dirs(b, cc, err);
  fprintf(b->readme, "\n%s\n", cc);

  static const ext root_ext[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                 {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                 {NID_subject_key_identifier, "hash"}};
  static const ext ca_ext[] = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                               {NID_key_usage, "critical,keyCertSign,cRLSign"},
                               {NID_subject_key_identifier, "hash"},
                               {NID_authority_key_identifier, "keyid:always"}};
  if (!rc) {
    expand(o, sizeof(o), "{CC} Single Window Root CA (development)", cc);
    expand(cn, sizeof(cn), "{CC} Single Window Root CA", cc);
    subject s = {cc, o, NULL, cn};
    snprintf(what, sizeof(what), "%s root CA (self-signed)", cc);
    rc = issue(b->alg, &s, NULL, b->now, GW_PKI_CA_DAYS, root_ext, 3, what, &root, err);
    if (!rc) rc = make_crl(&root, b->now, what, err);
    if (!rc) rc = save_ca(b, cc, "root", &root, what, err);
    if (!rc && !PEM_write_X509(b->bundle, root.cert)) rc = GW_ERR(err, GW_EIO, "cannot write ca-bundle.pem");
  }
  for (int i = 0; !rc && i < N_AGENCIES; i++) {
    char tmpl[96];
    snprintf(tmpl, sizeof(tmpl), "{CC} %s (development)", agencies[i].org);
    expand(o, sizeof(o), tmpl, cc);
    snprintf(tmpl, sizeof(tmpl), "{CC} %s Issuing CA", agencies[i].org);
    expand(cn, sizeof(cn), tmpl, cc);
    subject s = {cc, o, NULL, cn};
    snprintf(what, sizeof(what), "%s %s issuing CA (signed by the root, pathlen 0)", cc, agencies[i].org);
    rc = issue(b->alg, &s, &root, b->now, GW_PKI_CA_DAYS, ca_ext, 4, what, &ca[i], err);
    if (!rc) rc = make_crl(&ca[i], b->now, what, err);
    if (!rc) rc = save_ca(b, cc, agencies[i].file, &ca[i], what, err);
  }
  const char *ku_server = b->alg == GW_PKI_RSA_2048 ? "critical,digitalSignature,keyEncipherment"
                                                     : "critical,digitalSignature";
  const ext signer_ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                            {NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"}};
  const ext server_ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, ku_server},
                            {NID_ext_key_usage, "serverAuth"},
                            {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            {NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"}};
  const ext client_ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                            {NID_key_usage, "critical,digitalSignature"},
                            {NID_ext_key_usage, "clientAuth"},
                            {NID_subject_key_identifier, "hash"},
                            {NID_authority_key_identifier, "keyid:always"}};
  for (size_t i = 0; !rc && i < sizeof(leaf_defs) / sizeof(leaf_defs[0]); i++) {
    const struct leaf_def *d = &leaf_defs[i];
    expand(o, sizeof(o), d->org, cc);
    expand(cn, sizeof(cn), d->cn, cc);
    subject s = {cc, o, d->ou, cn};
    const ext *e = d->kind == LEAF_SIGNER ? signer_ext : d->kind == LEAF_SERVER ? server_ext : client_ext;
    size_t ne = d->kind == LEAF_SIGNER ? 4 : d->kind == LEAF_SERVER ? 6 : 5;
    const char *use = d->kind == LEAF_SIGNER   ? "signing (digitalSignature, nonRepudiation)"
                      : d->kind == LEAF_SERVER ? "TLS server (serverAuth)"
                                               : "TLS client (clientAuth), role";
    snprintf(what, sizeof(what), "%s %s: %s%s%s", cc, d->file, use, d->ou ? " " : "", d->ou ? d->ou : "");
    issued leaf = {0};
    rc = issue(b->alg, &s, &ca[d->ca], b->now, b->leaf_days, e, ne, what, &leaf, err);
    if (!rc) rc = save_leaf(b, cc, d, &leaf, ca[d->ca].cert, what, err);
    issued_free(&leaf);
  }
  issued_free(&root);
  for (int i = 0; i < N_AGENCIES; i++) issued_free(&ca[i]);
  return rc;
}

static int parse_countries(const char *list, char out[NCOUNTRIES][3], size_t *n, gw_error *err) {
  *n = 0;
  if (!list || !*list) {
    for (size_t i = 0; i < NCOUNTRIES; i++) memcpy(out[i], all_countries[i], 3);
    *n = NCOUNTRIES;
    return 0;
  }
  const char *p = list;
  for (;;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, ", ");
    const char *q = p + len;
    while (*q == ' ') q++;
    int found = -1;
    for (int i = 0; len == 2 && i < NCOUNTRIES; i++)
      if (!strncasecmp(p, all_countries[i], 2)) found = i;
    if (found < 0)
      return GW_ERR(err, GW_EINVAL, "countries: '%.*s' is not one of CN, KH, LA, MM, TH, VN (in \"%s\")", (int)len, p,
                    list);
    for (size_t i = 0; i < *n; i++)
      if (!strcmp(out[i], all_countries[found]))
        return GW_ERR(err, GW_EINVAL, "countries: %s named twice (in \"%s\")", all_countries[found], list);
    memcpy(out[(*n)++], all_countries[found], 3);
    if (!*q) return 0;
    if (*q != ',') return GW_ERR(err, GW_EINVAL, "countries: expected a comma after %.2s (in \"%s\")", p, list);
    p = q + 1;
  }
}

/* 1 when dir holds nothing, 0 when it holds something, negative on error. */
static int dir_is_empty(const char *dir, gw_error *err) {
  DIR *d = opendir(dir);
  if (!d) return GW_ERR(err, GW_EIO, "cannot read %s: %s", dir, strerror(errno));
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
  closedir(d);
  return empty;
}

static int made_by_us(const char *dir) {
  char p[PATH_MAX], line[64] = "";
  if (snprintf(p, sizeof(p), "%s/README.txt", dir) >= (int)sizeof(p)) return 0;
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  int ok = fgets(line, sizeof(line), f) && !strncmp(line, MARKER "\n", sizeof(MARKER));
  fclose(f);
  return ok;
}

static int build_all(build *b, char cc[NCOUNTRIES][3], size_t n, gw_error *err) {
  char p[PATH_MAX];
  int rc = pathf(p, sizeof(p), err, "%s/README.txt", b->root);
  if (!rc && !(b->readme = create_file(p, 0644, err))) rc = err ? err->code : GW_EIO;
  if (!rc) rc = pathf(p, sizeof(p), err, "%s/ca-bundle.pem", b->root);
  if (!rc && !(b->bundle = create_file(p, 0644, err))) rc = err ? err->code : GW_EIO;
  if (!rc) {
    char stamp[32];
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&b->now, &tm));
    fprintf(b->readme,
            MARKER "\n"
                   "made by `lmcgw pki init` (lmcgw %s) at %s\n"
                   "keys %s, signatures with SHA-256; CAs valid %d days, leaves %d days, CRLs %d days\n"
                   "\nFOR DEVELOPMENT AND TESTS ONLY: the private keys are not encrypted and\n"
                   "anyone with this folder can issue certificates the gateway trusts.\n"
                   "\nLayout\n\n%s",
            LMCGW_VERSION, stamp, gw_pki_algorithm_name(b->alg), GW_PKI_CA_DAYS, b->leaf_days, GW_PKI_CRL_DAYS,
            layout_text);
    fprintf(b->readme, "\nRevoke a certificate (re-signs the CRL of its issuing CA):\n"
                       "  lmcgw pki revoke --ca-key CC/keys/customs-ca.key --ca-cert CC/trust/customs-ca.pem \\\n"
                       "                   --crl CC/trust/customs-ca.crl CC/certs/trader.pem\n"
                       "\nWhat was made\n");
  }
  for (size_t i = 0; !rc && i < n; i++) rc = build_country(b, cc[i], err);
  if (b->readme) {
    int r = close_file(b->readme, 1, "README.txt", rc ? NULL : err);
    if (!rc) rc = r;
  }
  if (b->bundle) {
    int r = close_file(b->bundle, 1, "ca-bundle.pem", rc ? NULL : err);
    if (!rc) rc = r;
  }
  return rc;
}

int gw_pki_init(const char *dir_in, const gw_pki_options *opt_in, gw_error *err) {
  gw_pki_options opt = opt_in ? *opt_in : (gw_pki_options){0};
  if (opt.algorithm != GW_PKI_EC_P256 && opt.algorithm != GW_PKI_RSA_2048)
    return GW_ERR(err, GW_EINVAL, "algorithm: unknown (ec-p256 or rsa-2048)");
  int days = opt.leaf_days ? opt.leaf_days : GW_PKI_LEAF_DAYS;
  if (days < 1 || days > GW_PKI_CA_DAYS)
    return GW_ERR(err, GW_EINVAL, "days: %d is out of range 1..%d (no leaf may outlive its CA)", days,
                  GW_PKI_CA_DAYS);
  char cc[NCOUNTRIES][3];
  size_t n = 0;
  int rc = parse_countries(opt.countries, cc, &n, err);
  if (rc) return rc;

  char dir[PATH_MAX];
  if (!dir_in || !*dir_in) return GW_ERR(err, GW_EINVAL, "no directory given");
  if (pathf(dir, sizeof(dir), err, "%s", dir_in)) return GW_EINVAL;
  for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; l--) dir[l - 1] = 0;
  const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
    return GW_ERR(err, GW_EINVAL, "%s: name the directory itself (not /, . or ..)", dir_in);

  int replace = 0;
  struct stat st;
  if (lstat(dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return GW_ERR(err, GW_EINVAL, "%s exists and is not a directory", dir);
    int empty = dir_is_empty(dir, err);
    if (empty < 0) return empty;
    if (!empty && !opt.force)
      return GW_ERR(err, GW_EINVAL, "%s exists and is not empty; --force replaces a PKI made by lmcgw pki init", dir);
    if (!empty && !made_by_us(dir))
      return GW_ERR(err, GW_EINVAL,
                    "%s is not empty and was not made by lmcgw pki init (no %s/README.txt starting \"" MARKER
                    "\"): not replacing it, even with --force",
                    dir, dir);
    replace = !empty;
  } else if (errno != ENOENT) {
    return GW_ERR(err, GW_EIO, "cannot examine %s: %s", dir, strerror(errno));
  }

  char tmp[PATH_MAX];
  if (pathf(tmp, sizeof(tmp), err, "%s.tmp-XXXXXX", dir)) return GW_EINVAL;
  if (!mkdtemp(tmp)) return GW_ERR(err, GW_EIO, "cannot create a build directory beside %s: %s", dir, strerror(errno));
  build b = {.root = tmp, .now = time(NULL), .alg = opt.algorithm, .leaf_days = days};
  rc = chmod(tmp, 0755) ? GW_ERR(err, GW_EIO, "cannot chmod %s: %s", tmp, strerror(errno)) : 0;
  if (!rc) rc = build_all(&b, cc, n, err);
  /* An empty dir is replaced by rename itself; a full one is moved aside
   * first and only deleted once the new one is in place. */
  char old[PATH_MAX] = "";
  if (!rc && replace) {
    if (pathf(old, sizeof(old), err, "%s.old-XXXXXX", dir)) rc = GW_EINVAL;
    else if (!mkdtemp(old)) rc = GW_ERR(err, GW_EIO, "cannot create %s: %s", old, strerror(errno));
    else if (rename(dir, old)) {
      rc = GW_ERR(err, GW_EIO, "cannot move %s aside: %s", dir, strerror(errno));
      rmdir(old);
    }
  }
  if (!rc && rename(tmp, dir)) {
    rc = GW_ERR(err, GW_EIO, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
    if (replace) rename(old, dir);
  }
  if (rc) rm_tree(tmp);
  else if (replace) rm_tree(old);
  return rc;
}

/* ---- revoke ------------------------------------------------------------------- */

static int open_in(const char *path, FILE **f, gw_error *err) {
  *f = fopen(path, "r");
  return *f ? 0 : GW_ERR(err, GW_EIO, "cannot open %s: %s", path, strerror(errno));
}

int gw_pki_revoke(const char *ca_key_file, const char *ca_cert_file, const char *crl_file, const char *cert_file,
                  int *already, gw_error *err) {
  char why[256];
  EVP_PKEY *key = NULL;
  X509 *ca = NULL, *cert = NULL;
  X509_CRL *crl = NULL;
  X509_REVOKED *rev = NULL;
  BIGNUM *number = NULL;
  ASN1_TIME *when = NULL;
  char tmp[PATH_MAX] = "";
  int rc = 0, fd;
  if (already) *already = 0;
  ERR_clear_error();

  FILE *f;
  if ((rc = open_in(ca_key_file, &f, err))) goto out;
  key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (!key) {
    rc = GW_ERR(err, GW_EINVAL, "%s: not a PEM private key: %s", ca_key_file, ossl_why(why, sizeof(why)));
    goto out;
  }
  if ((rc = open_in(ca_cert_file, &f, err))) goto out;
  ca = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if ((rc = open_in(cert_file, &f, err))) goto out;
  cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!ca || !cert) {
    rc = GW_ERR(err, GW_EINVAL, "%s: not a PEM certificate: %s", ca ? cert_file : ca_cert_file,
                ossl_why(why, sizeof(why)));
    goto out;
  }
  if ((rc = open_in(crl_file, &f, err))) goto out;
  crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
  fclose(f);
  if (!crl) {
    rc = GW_ERR(err, GW_EINVAL, "%s: not a PEM CRL: %s", crl_file, ossl_why(why, sizeof(why)));
    goto out;
  }
  ERR_clear_error();
  if (X509_check_private_key(ca, key) != 1) {
    rc = GW_ERR(err, GW_EINVAL, "%s is not the private key of %s", ca_key_file, ca_cert_file);
    goto out;
  }
  EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) || X509_CRL_verify(crl, ca_pub) != 1) {
    rc = GW_ERR(err, GW_EINVAL, "%s was not issued by the CA in %s", crl_file, ca_cert_file);
    goto out;
  }
  if (X509_check_issued(ca, cert) != X509_V_OK || X509_verify(cert, ca_pub) != 1) {
    rc = GW_ERR(err, GW_EINVAL, "%s was not issued by the CA in %s", cert_file, ca_cert_file);
    goto out;
  }
  ERR_clear_error();
  X509_REVOKED *found = NULL;
  if (X509_CRL_get0_by_serial(crl, &found, X509_get0_serialNumber(cert)) == 1) {
    if (already) *already = 1;
    goto out;
  }

  time_t now = time(NULL);
  int crit = 0;
  ASN1_INTEGER *old_num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
  number = old_num ? ASN1_INTEGER_to_BN(old_num, NULL) : BN_new();
  ASN1_INTEGER_free(old_num);
  when = X509_time_adj_ex(NULL, 0, 0, &now);
  rev = X509_REVOKED_new();
  int ok = number && BN_add_word(number, 1) && when && rev &&
           X509_REVOKED_set_serialNumber(rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert)) &&
           X509_REVOKED_set_revocationDate(rev, when) && X509_CRL_add0_revoked(crl, rev);
  if (ok) rev = NULL; /* the CRL owns it now */
  ok = ok && X509_CRL_set_version(crl, X509_CRL_VERSION_2) && crl_set_times(crl, now, 0) &&
       crl_seal(crl, ca, key, number);
  if (!ok) {
    rc = GW_ERR(err, GW_ECRYPTO, "cannot re-sign %s: %s", crl_file, ossl_why(why, sizeof(why)));
    goto out;
  }

  /* Written beside the CRL and renamed over it: a reader never sees half a CRL. */
  if (pathf(tmp, sizeof(tmp), err, "%s.tmp-XXXXXX", crl_file)) {
    rc = GW_EINVAL;
    tmp[0] = 0;
    goto out;
  }
  fd = mkstemp(tmp);
  if (fd < 0) {
    rc = GW_ERR(err, GW_EIO, "cannot create %s: %s", tmp, strerror(errno));
    tmp[0] = 0;
    goto out;
  }
  f = fchmod(fd, 0644) == 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    rc = GW_ERR(err, GW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    goto out;
  }
  rc = close_file(f, PEM_write_X509_CRL(f, crl), tmp, err);
  if (!rc && rename(tmp, crl_file)) rc = GW_ERR(err, GW_EIO, "cannot replace %s: %s", crl_file, strerror(errno));
  if (!rc) tmp[0] = 0;
out:
  if (tmp[0]) unlink(tmp);
  X509_REVOKED_free(rev);
  ASN1_TIME_free(when);
  BN_free(number);
  X509_CRL_free(crl);
  X509_free(cert);
  X509_free(ca);
  EVP_PKEY_free(key);
  return rc;
}
