/* The development PKI (`lmcgw pki init`) and the CRL helper: every leaf chains
 * to its country's root with CRL checking, usages and roles are right, keys
 * are private, nothing is overwritten by mistake, revocation shows, and the
 * openssl command (independent of our code) agrees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pki/devpki.h"
#include "pki/pki.h"
#include "testutil.h"

static const char *const countries[] = {"CN", "KH", "LA", "MM", "TH", "VN"};

/* leaf, issuing CA, OU (NULL: none), kind: 's' signer, 'S' TLS server, 'c' TLS client */
static const struct {
  const char *name, *ca, *ou;
  char kind;
} leaves[] = {
    {"gateway-signer", "customs-ca", NULL, 's'},   {"gateway-tls", "customs-ca", NULL, 'S'},
    {"customs-system", "customs-ca", "customs-system", 'c'}, {"trader", "customs-ca", "trader", 'c'},
    {"inspector", "plant-protection-ca", "inspector", 'c'},  {"admin", "customs-ca", "admin", 'c'},
    {"nppo-signer", "plant-protection-ca", NULL, 's'},
};
#define NLEAVES (sizeof(leaves) / sizeof(leaves[0]))
static const char *const cas[] = {"root", "customs-ca", "plant-protection-ca", "animal-health-ca"};

static char *base; /* temporary folder of this run */
static char all[4096]; /* base/all: the six-country PKI every read-only test shares */

static X509 *load_cert(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!x) fail_msg("%s holds no certificate", path);
  return x;
}

static X509_CRL *load_crl(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  X509_CRL *c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
  fclose(f);
  if (!c) fail_msg("%s holds no CRL", path);
  return c;
}

static X509 *cert_at(const char *dir, const char *cc, const char *sub, const char *name) {
  char p[4200];
  snprintf(p, sizeof(p), "%s/%s/%s/%s.pem", dir, cc, sub, name);
  return load_cert(p);
}

/* X509_verify_cert of dir/cc/certs/leaf.pem with the country's root as the
 * only anchor, its issuing CA untrusted, every CA's CRL loaded and checked at
 * every depth. Returns X509_V_OK or the error. */
static int verify_leaf(const char *dir, const char *cc, const char *anchor_cc, const char *leaf, const char *ca,
                       int purpose) {
  char p[4200];
  X509_STORE *st = X509_STORE_new();
  X509 *root = cert_at(dir, anchor_cc, "trust", "root");
  assert_int_equal(X509_STORE_add_cert(st, root), 1);
  X509_free(root);
  for (size_t i = 0; i < sizeof(cas) / sizeof(cas[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s/trust/%s.crl", dir, anchor_cc, cas[i]);
    X509_CRL *crl = load_crl(p);
    assert_int_equal(X509_STORE_add_crl(st, crl), 1);
    X509_CRL_free(crl);
  }
  X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_X509_STRICT);
  if (purpose) X509_STORE_set_purpose(st, purpose);
  STACK_OF(X509) *untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, cert_at(dir, cc, "trust", ca));
  X509 *x = cert_at(dir, cc, "certs", leaf);
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  assert_int_equal(X509_STORE_CTX_init(ctx, st, x, untrusted), 1);
  int ok = X509_verify_cert(ctx);
  int e = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  if (ok == 1) assert_int_equal(sk_X509_num(X509_STORE_CTX_get0_chain(ctx)), 3);
  X509_STORE_CTX_free(ctx);
  X509_free(x);
  sk_X509_pop_free(untrusted, X509_free);
  X509_STORE_free(st);
  ERR_clear_error();
  return e;
}

static int purpose_of(char kind) {
  return kind == 'S' ? X509_PURPOSE_SSL_SERVER : kind == 'c' ? X509_PURPOSE_SSL_CLIENT : 0;
}

static mode_t mode_of(const char *path) {
  struct stat st;
  if (stat(path, &st)) fail_msg("%s is missing", path);
  return st.st_mode & 07777;
}

static size_t count_siblings(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  closedir(d);
  return n;
}

static char *root_serial(const char *dir, const char *cc) {
  X509 *x = cert_at(dir, cc, "trust", "root");
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *h = BN_bn2hex(bn);
  char *s = strdup(h);
  OPENSSL_free(h);
  BN_free(bn);
  X509_free(x);
  return s;
}

static int setup(void **state) {
  (void)state;
  base = tu_mkdtemp("pki");
  snprintf(all, sizeof(all), "%s/all", base);
  gw_error err = {0};
  if (gw_pki_init(all, NULL, &err)) {
    fprintf(stderr, "gw_pki_init: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(base);
  free(base);
  return 0;
}

static void every_leaf_verifies_against_its_root(void **state) {
  (void)state;
  for (size_t c = 0; c < 6; c++)
    for (size_t i = 0; i < NLEAVES; i++) {
      int e = verify_leaf(all, countries[c], countries[c], leaves[i].name, leaves[i].ca, purpose_of(leaves[i].kind));
      if (e != X509_V_OK)
        fail_msg("%s %s: %s", countries[c], leaves[i].name, X509_verify_cert_error_string(e));
    }
  /* One country's root does not vouch for another's certificates. */
  assert_int_equal(verify_leaf(all, "TH", "VN", "trader", "customs-ca", X509_PURPOSE_SSL_CLIENT),
                   X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  /* A client certificate is no server certificate, nor the other way. */
  assert_int_equal(verify_leaf(all, "TH", "TH", "trader", "customs-ca", X509_PURPOSE_SSL_SERVER),
                   X509_V_ERR_INVALID_PURPOSE);
  assert_int_equal(verify_leaf(all, "TH", "TH", "gateway-tls", "customs-ca", X509_PURPOSE_SSL_CLIENT),
                   X509_V_ERR_INVALID_PURPOSE);
}

static void usages_roles_and_names(void **state) {
  (void)state;
  for (size_t c = 0; c < 6; c++) {
    const char *cc = countries[c];
    char buf[256];
    X509 *root = cert_at(all, cc, "trust", "root");
    assert_int_equal(X509_check_ca(root), 1);
    assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(root), NID_organizationName, buf, sizeof(buf)) > 0);
    char want[128];
    snprintf(want, sizeof(want), "%s Single Window Root CA (development)", cc);
    assert_string_equal(buf, want);
    assert_true(X509_get_extension_flags(root) & EXFLAG_SS);
    for (size_t a = 1; a < 4; a++) {
      X509 *ca = cert_at(all, cc, "trust", cas[a]);
      assert_int_equal(X509_check_ca(ca), 1);
      assert_int_equal(X509_get_pathlen(ca), 0);
      assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
      assert_int_equal(X509_check_issued(root, ca), X509_V_OK);
      assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(ca), X509_get0_subject_key_id(root)), 0);
      /* A CA outlives none of its certificates: the leaves' notAfter is checked below. */
      assert_true(ASN1_TIME_compare(X509_get0_notAfter(ca), X509_get0_notAfter(root)) <= 0);
      X509_free(ca);
    }
    for (size_t i = 0; i < NLEAVES; i++) {
      X509 *x = cert_at(all, cc, "certs", leaves[i].name);
      X509 *ca = cert_at(all, cc, "trust", leaves[i].ca);
      X509_NAME *nm = X509_get_subject_name(x);
      assert_int_equal(X509_check_ca(x), 0);
      assert_true(X509_NAME_get_text_by_NID(nm, NID_countryName, buf, sizeof(buf)) == 2);
      assert_string_equal(buf, cc);
      int has_ou = X509_NAME_get_text_by_NID(nm, NID_organizationalUnitName, buf, sizeof(buf)) > 0;
      if (leaves[i].ou) {
        assert_true(has_ou);
        assert_string_equal(buf, leaves[i].ou);
      } else {
        assert_false(has_ou);
      }
      assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
      assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca)), 0);
      assert_non_null(X509_get0_subject_key_id(x));
      assert_true(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) <= 0);
      /* 159-bit random serials, top bit set: 20 octets, positive. */
      BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
      assert_int_equal(BN_num_bits(bn), 159);
      assert_false(BN_is_negative(bn));
      BN_free(bn);
      assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
      uint32_t ku = X509_get_key_usage(x), xku = X509_get_extended_key_usage(x);
      switch (leaves[i].kind) {
      case 's':
        assert_int_equal(ku, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
        assert_int_equal(X509_get_ext_by_NID(x, NID_ext_key_usage, -1), -1);
        break;
      case 'S': {
        assert_int_equal(ku, KU_DIGITAL_SIGNATURE);
        assert_int_equal(xku, XKU_SSL_SERVER);
        assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
        assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
        break;
      }
      default:
        assert_int_equal(ku, KU_DIGITAL_SIGNATURE);
        assert_int_equal(xku, XKU_SSL_CLIENT);
      }
      int crit = -1;
      ASN1_BIT_STRING *kue = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
      assert_non_null(kue);
      assert_int_equal(crit, 1);
      ASN1_BIT_STRING_free(kue);
      if (!strcmp(leaves[i].name, "gateway-signer")) {
        X509_NAME_get_text_by_NID(nm, NID_commonName, buf, sizeof(buf));
        snprintf(want, sizeof(want), "lmcgw gateway %s", cc);
        assert_string_equal(buf, want);
      }
      X509_free(ca);
      X509_free(x);
    }
    X509_free(root);
  }
}

static void files_keys_and_bundle(void **state) {
  (void)state;
  char p[4200];
  for (size_t c = 0; c < 6; c++) {
    const char *cc = countries[c];
    snprintf(p, sizeof(p), "%s/%s/keys", all, cc);
    assert_int_equal(mode_of(p), 0700);
    for (size_t i = 0; i < NLEAVES + 4; i++) {
      const char *n = i < NLEAVES ? leaves[i].name : cas[i - NLEAVES];
      snprintf(p, sizeof(p), "%s/%s/keys/%s.key", all, cc, n);
      assert_int_equal(mode_of(p), 0600);
      FILE *f = fopen(p, "r");
      EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
      if (f) fclose(f);
      assert_non_null(k);
      X509 *x = cert_at(all, cc, i < NLEAVES ? "certs" : "trust", n);
      assert_int_equal(X509_check_private_key(x, k), 1);
      X509_free(x);
      EVP_PKEY_free(k);
    }
    /* A chain file is the leaf, then its issuing CA. */
    for (size_t i = 0; i < NLEAVES; i++) {
      snprintf(p, sizeof(p), "%s/%s/certs/%s-chain.pem", all, cc, leaves[i].name);
      FILE *f = fopen(p, "r");
      assert_non_null(f);
      X509 *a = PEM_read_X509(f, NULL, NULL, NULL), *b = PEM_read_X509(f, NULL, NULL, NULL);
      X509 *none = PEM_read_X509(f, NULL, NULL, NULL);
      fclose(f);
      ERR_clear_error();
      X509 *leaf = cert_at(all, cc, "certs", leaves[i].name), *ca = cert_at(all, cc, "trust", leaves[i].ca);
      assert_non_null(a);
      assert_non_null(b);
      assert_null(none);
      assert_int_equal(X509_cmp(a, leaf), 0);
      assert_int_equal(X509_cmp(b, ca), 0);
      X509_free(a);
      X509_free(b);
      X509_free(leaf);
      X509_free(ca);
    }
    for (size_t a = 0; a < 4; a++) {
      snprintf(p, sizeof(p), "%s/%s/trust/%s.crl", all, cc, cas[a]);
      X509_CRL *crl = load_crl(p);
      X509 *ca = cert_at(all, cc, "trust", cas[a]);
      assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
      assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0); /* -1: no list at all */
      int pday = 0, psec = 0;
      assert_int_equal(ASN1_TIME_diff(&pday, &psec, NULL, X509_CRL_get0_nextUpdate(crl)), 1);
      assert_true(pday >= 29 && pday <= 30);
      X509_CRL_free(crl);
      X509_free(ca);
    }
  }
  snprintf(p, sizeof(p), "%s/ca-bundle.pem", all);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  size_t n = 0;
  for (X509 *x; (x = PEM_read_X509(f, NULL, NULL, NULL)); n++) {
    assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
    X509_free(x);
  }
  fclose(f);
  ERR_clear_error();
  assert_int_equal(n, 6);
  snprintf(p, sizeof(p), "%s/README.txt", all);
  size_t len;
  char *readme = tu_read(p, &len);
  assert_non_null(readme);
  assert_true(!strncmp(readme, "lmcgw development PKI\n", 22));
  assert_non_null(strstr(readme, "VN/certs/nppo-signer.pem"));
  free(readme);
  assert_int_equal(count_siblings(base, "all."), 0); /* no build or backup folder left */
}

static void refuses_to_overwrite(void **state) {
  (void)state;
  gw_error err = {0};
  char *before = root_serial(all, "TH");
  assert_int_equal(gw_pki_init(all, NULL, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "not empty"));
  char *after = root_serial(all, "TH");
  assert_string_equal(before, after);
  free(after);

  /* --force replaces only what pki init made. */
  char *other = tu_mkdtemp("pki-other");
  free(tu_write(other, "notes.txt", "mine\n"));
  gw_pki_options force = {.force = 1, .countries = "LA"};
  assert_int_equal(gw_pki_init(other, &force, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "not made by lmcgw pki init"));
  char p[4200];
  snprintf(p, sizeof(p), "%s/notes.txt", other);
  assert_int_equal(access(p, F_OK), 0);
  snprintf(p, sizeof(p), "%s/LA", other);
  assert_int_equal(access(p, F_OK), -1);
  tu_rmrf(other);
  free(other);

  /* An empty folder is fine; a file is not a folder; bad options change nothing. */
  char d[4200];
  snprintf(d, sizeof(d), "%s/empty", base);
  assert_int_equal(mkdir(d, 0755), 0);
  gw_pki_options one = {.countries = "mm"};
  assert_int_equal(gw_pki_init(d, &one, &err), 0);
  snprintf(p, sizeof(p), "%s/MM/trust/root.pem", d);
  assert_int_equal(access(p, F_OK), 0);
  snprintf(p, sizeof(p), "%s/CN", d);
  assert_int_equal(access(p, F_OK), -1);
  /* Replacing a PKI with --force: new roots, no leftovers. */
  char *old = root_serial(d, "MM");
  one.force = 1;
  assert_int_equal(gw_pki_init(d, &one, &err), 0);
  char *new = root_serial(d, "MM");
  assert_string_not_equal(old, new);
  free(old);
  free(new);
  assert_int_equal(count_siblings(base, "empty."), 0);
  snprintf(p, sizeof(p), "%s/README.txt", all);
  assert_int_equal(gw_pki_init(p, NULL, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "not a directory"));
  snprintf(d, sizeof(d), "%s/never", base);
  gw_pki_options bad[] = {{.countries = "TH,XX"}, {.countries = "TH,th"}, {.countries = "TH,"}, {.leaf_days = 3651},
                          {.leaf_days = -1},      {.algorithm = 7}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(gw_pki_init(d, &bad[i], &err), GW_EINVAL);
    assert_int_equal(access(d, F_OK), -1);
  }
  assert_int_equal(count_siblings(base, "never"), 0);
  /* A parent that does not exist: refused before anything is made. */
  snprintf(d, sizeof(d), "%s/no/such", base);
  assert_int_equal(gw_pki_init(d, &one, &err), GW_EIO);
  free(before);
}

/* openssl's own verify command, exit status 0 or not. */
static int openssl_verify(const char *dir, const char *cc, const char *ca, const char *leaf) {
  char cmd[8192];
  snprintf(cmd, sizeof(cmd),
           "openssl verify -x509_strict -CAfile '%s/%s/trust/root.pem' -untrusted '%s/%s/trust/%s.pem' -crl_check "
           "-CRLfile '%s/%s/trust/%s.crl' '%s/%s/certs/%s.pem' >/dev/null 2>&1",
           dir, cc, dir, cc, ca, dir, cc, ca, dir, cc, leaf);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have_openssl(void) { return system("command -v openssl >/dev/null 2>&1") == 0; }

static void openssl_command_agrees(void **state) {
  (void)state;
  if (!have_openssl()) {
    fprintf(stderr, "[  SKIPPED ] the openssl command is not on PATH\n");
    skip();
  }
  for (size_t c = 0; c < 6; c++)
    for (size_t i = 0; i < NLEAVES; i++)
      if (openssl_verify(all, countries[c], leaves[i].ca, leaves[i].name))
        fail_msg("openssl verify refuses %s %s", countries[c], leaves[i].name);
  /* The wrong issuing CA: openssl cannot build the chain. */
  assert_int_not_equal(openssl_verify(all, "TH", "animal-health-ca", "trader"), 0);
}

static void revoke_shows_in_verification(void **state) {
  (void)state;
  char d[4200], key[4300], ca[4300], crl[4300], leaf[4300], other[4300];
  snprintf(d, sizeof(d), "%s/revoke", base);
  gw_pki_options o = {.countries = "LA"};
  gw_error err = {0};
  assert_int_equal(gw_pki_init(d, &o, &err), 0);
  snprintf(key, sizeof(key), "%s/LA/keys/customs-ca.key", d);
  snprintf(ca, sizeof(ca), "%s/LA/trust/customs-ca.pem", d);
  snprintf(crl, sizeof(crl), "%s/LA/trust/customs-ca.crl", d);
  snprintf(leaf, sizeof(leaf), "%s/LA/certs/trader.pem", d);
  assert_int_equal(verify_leaf(d, "LA", "LA", "trader", "customs-ca", X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  int already = -1;
  assert_int_equal(gw_pki_revoke(key, ca, crl, leaf, &already, &err), 0);
  assert_int_equal(already, 0);
  assert_int_equal(verify_leaf(d, "LA", "LA", "trader", "customs-ca", X509_PURPOSE_SSL_CLIENT),
                   X509_V_ERR_CERT_REVOKED);
  /* Only that one: its siblings from the same CA still verify. */
  assert_int_equal(verify_leaf(d, "LA", "LA", "customs-system", "customs-ca", X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  X509_CRL *c = load_crl(crl);
  assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)), 1);
  ASN1_INTEGER *num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
  assert_int_equal(ASN1_INTEGER_get(num), 2);
  ASN1_INTEGER_free(num);
  X509_CRL_free(c);
  assert_int_equal(mode_of(crl), 0644);
  /* Again: nothing changes. */
  assert_int_equal(gw_pki_revoke(key, ca, crl, leaf, &already, &err), 0);
  assert_int_equal(already, 1);
  /* Wrong key, wrong CA for the certificate, wrong CRL: refused, CRL unchanged. */
  snprintf(other, sizeof(other), "%s/LA/keys/root.key", d);
  assert_int_equal(gw_pki_revoke(other, ca, crl, leaf, NULL, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "not the private key"));
  snprintf(other, sizeof(other), "%s/LA/certs/inspector.pem", d);
  assert_int_equal(gw_pki_revoke(key, ca, crl, other, NULL, &err), GW_EINVAL);
  assert_non_null(strstr(err.msg, "was not issued by"));
  snprintf(other, sizeof(other), "%s/LA/trust/root.crl", d);
  assert_int_equal(gw_pki_revoke(key, ca, other, leaf, NULL, &err), GW_EINVAL);
  snprintf(other, sizeof(other), "%s/LA/no-such.pem", d);
  assert_int_equal(gw_pki_revoke(key, ca, crl, other, NULL, &err), GW_EIO);
  assert_int_equal(count_siblings(d, "LA/trust/customs-ca.crl.tmp"), 0);
  char trust[4300];
  snprintf(trust, sizeof(trust), "%s/LA/trust", d);
  assert_int_equal(count_siblings(trust, "customs-ca.crl.tmp"), 0);
  if (have_openssl()) {
    assert_int_not_equal(openssl_verify(d, "LA", "customs-ca", "trader"), 0);
    assert_int_equal(openssl_verify(d, "LA", "customs-ca", "admin"), 0);
  }
}

static void rsa_and_days(void **state) {
  (void)state;
  char d[4200];
  snprintf(d, sizeof(d), "%s/rsa", base);
  gw_pki_options o = {.countries = "KH", .algorithm = GW_PKI_RSA_2048, .leaf_days = 90};
  gw_error err = {0};
  assert_int_equal(gw_pki_init(d, &o, &err), 0);
  for (size_t i = 0; i < NLEAVES; i++) {
    assert_int_equal(verify_leaf(d, "KH", "KH", leaves[i].name, leaves[i].ca, purpose_of(leaves[i].kind)), X509_V_OK);
    X509 *x = cert_at(d, "KH", "certs", leaves[i].name);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_RSA);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
    assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    assert_int_equal(days, 90);
    assert_int_equal(secs, 3600); /* valid from an hour back */
    X509_free(x);
  }
  X509 *root = cert_at(d, "KH", "trust", "root");
  int days = 0, secs = 0;
  assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(root), X509_get0_notAfter(root)), 1);
  assert_int_equal(days, GW_PKI_CA_DAYS);
  X509_free(root);
  if (have_openssl()) assert_int_equal(openssl_verify(d, "KH", "plant-protection-ca", "inspector"), 0);
}

static void parse_algorithm(void **state) {
  (void)state;
  assert_int_equal(gw_pki_algorithm_parse("ec-p256"), GW_PKI_EC_P256);
  assert_int_equal(gw_pki_algorithm_parse("RSA-2048"), GW_PKI_RSA_2048);
  assert_int_equal(gw_pki_algorithm_parse("rsa-1024"), -1);
  assert_int_equal(gw_pki_algorithm_parse(NULL), -1);
  assert_string_equal(gw_pki_algorithm_name(GW_PKI_RSA_2048), "rsa-2048");
}

/* serve --dev still makes its own signer. */
static void dev_signer_still_works(void **state) {
  (void)state;
  char d[4200], k[4300], c[4300];
  snprintf(d, sizeof(d), "%s/state", base);
  snprintf(k, sizeof(k), "%s/sign.key", d);
  snprintf(c, sizeof(c), "%s/sign.pem", d);
  gw_error err = {0};
  assert_int_equal(gw_pki_dev_signer(d, k, c, "TH", &err), 0);
  assert_int_equal(mode_of(k), 0600);
  X509 *x = load_cert(c);
  assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
  X509_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_leaf_verifies_against_its_root),
      cmocka_unit_test(usages_roles_and_names),
      cmocka_unit_test(files_keys_and_bundle),
      cmocka_unit_test(refuses_to_overwrite),
      cmocka_unit_test(openssl_command_agrees),
      cmocka_unit_test(revoke_shows_in_verification),
      cmocka_unit_test(rsa_and_days),
      cmocka_unit_test(parse_algorithm),
      cmocka_unit_test(dev_signer_still_works),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
