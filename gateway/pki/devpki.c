#include "pki/devpki.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_ext(X509 *cert, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ex) return -1;
  int ok = X509_add_ext(cert, ex, -1);
  X509_EXTENSION_free(ex);
  return ok ? 0 : -1;
}

int gw_pki_dev_signer(const char *dir, const char *key_file, const char *cert_file, const char *country,
                      gw_error *err) {
  if (access(key_file, R_OK) == 0 && access(cert_file, R_OK) == 0) return 0;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return GW_ERR(err, GW_EIO, "cannot create state directory %s: %s", dir, strerror(errno));
  int rc = 0;
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  FILE *kf = NULL, *cf = NULL;
  if (!pk || !x) {
    rc = GW_ERR(err, GW_ECRYPTO, "cannot generate development key");
    goto out;
  }
  ASN1_INTEGER *sn = X509_get_serialNumber(x);
  BIGNUM *bn = BN_new();
  if (!bn || !BN_rand(bn, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) || !BN_to_ASN1_INTEGER(bn, sn)) {
    BN_free(bn);
    rc = GW_ERR(err, GW_ECRYPTO, "cannot make a serial number");
    goto out;
  }
  BN_free(bn);
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 2L * 365 * 24 * 3600);
  X509_set_pubkey(x, pk);
  X509_NAME *name = X509_get_subject_name(x);
  char cn[64];
  snprintf(cn, sizeof(cn), "lmcgw development signer %s", country);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)country, -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"lmcgw development", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
      add_ext(x, NID_key_usage, "critical,digitalSignature,nonRepudiation") ||
      add_ext(x, NID_subject_key_identifier, "hash") || !X509_sign(x, pk, EVP_sha256())) {
    rc = GW_ERR(err, GW_ECRYPTO, "cannot sign development certificate");
    goto out;
  }
  /* The private key file is created 0600 from the start, never widened. */
  int fd = open(key_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || !(kf = fdopen(fd, "wb"))) {
    if (fd >= 0) close(fd);
    rc = GW_ERR(err, GW_EIO, "cannot write %s: %s", key_file, strerror(errno));
    goto out;
  }
  if (!PEM_write_PrivateKey(kf, pk, NULL, NULL, 0, NULL, NULL)) {
    rc = GW_ERR(err, GW_EIO, "cannot write %s", key_file);
    goto out;
  }
  cf = fopen(cert_file, "wb");
  if (!cf || !PEM_write_X509(cf, x)) {
    rc = GW_ERR(err, GW_EIO, "cannot write %s: %s", cert_file, strerror(errno));
    goto out;
  }
out:
  if (kf && fclose(kf) && !rc) rc = GW_ERR(err, GW_EIO, "cannot write %s", key_file);
  if (cf && fclose(cf) && !rc) rc = GW_ERR(err, GW_EIO, "cannot write %s", cert_file);
  if (rc) {
    unlink(key_file);
    unlink(cert_file);
  }
  X509_free(x);
  EVP_PKEY_free(pk);
  return rc;
}
