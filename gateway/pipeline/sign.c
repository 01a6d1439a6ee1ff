#include "pipeline/sign.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

/* xmlSecKeyDuplicate copies the certificate chain through DER, which cost
 * more than the signature itself; keys copied once wait here between uses.
 * A copy is used by one thread at a time. */
#define GW_SIGNER_SPARE 64

struct gw_signer {
  xmlSecKeyPtr key;
  pthread_mutex_t mu;
  xmlSecKeyPtr spare[GW_SIGNER_SPARE];
  size_t n_spare;
  xmlSecTransformId alg;
  EVP_PKEY *pkey;    /* the same key, for detached JWS of non-XML payloads */
  int rsa;
};

/* Checks the key is what the configuration says before any message is signed,
 * so a mismatch is a start-up error, not a failure per message. */
static int check_key_kind(const char *key_file, const char *algorithm, gw_error *err) {
  FILE *f = fopen(key_file, "rb");
  if (!f) return GW_ERR(err, GW_ECRYPTO, "cannot open signing key %s", key_file);
  EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (!pk) return GW_ERR(err, GW_ECRYPTO, "signing key %s is not a readable unencrypted PEM private key", key_file);
  int rc = 0;
  if (!strcmp(algorithm, "ecdsa-p256")) {
    char group[64] = "";
    size_t gl = 0;
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &gl) ||
        (strcmp(group, "prime256v1") && strcmp(group, "P-256")))
      rc = GW_ERR(err, GW_ECRYPTO, "signing.algorithm is ecdsa-p256 but %s is not a P-256 EC key", key_file);
  } else if (!strcmp(algorithm, "rsa-2048")) {
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pk) < 2048)
      rc = GW_ERR(err, GW_ECRYPTO, "signing.algorithm is rsa-2048 but %s is not an RSA key of 2048 bits or more",
                  key_file);
  } else {
    rc = GW_ERR(err, GW_ECONFIG, "unknown signing algorithm '%s'", algorithm);
  }
  EVP_PKEY_free(pk);
  return rc;
}

int gw_signer_load(gw_signer **out, const char *key_file, const char *cert_file, const char *algorithm,
                   gw_error *err) {
  int rc = check_key_kind(key_file, algorithm, err);
  if (rc) return rc;
  gw_signer *s = calloc(1, sizeof(*s));
  if (!s) return GW_ERR(err, GW_ENOMEM, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  s->rsa = !strcmp(algorithm, "rsa-2048");
  s->alg = s->rsa ? xmlSecTransformRsaSha256Id : xmlSecTransformEcdsaSha256Id;
  FILE *kf = fopen(key_file, "rb");
  s->pkey = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
  if (kf) fclose(kf);
  if (!s->pkey) {
    pthread_mutex_destroy(&s->mu);
    free(s);
    return GW_ERR(err, GW_ECRYPTO, "cannot load signing key %s", key_file);
  }
  s->key = xmlSecCryptoAppKeyLoad(key_file, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
  if (!s->key) {
    EVP_PKEY_free(s->pkey);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return GW_ERR(err, GW_ECRYPTO, "xmlsec cannot load signing key %s", key_file);
  }
  if (xmlSecCryptoAppKeyCertLoad(s->key, cert_file, xmlSecKeyDataFormatPem) < 0) {
    gw_signer_free(s);
    return GW_ERR(err, GW_ECRYPTO, "cannot load signing certificate %s (or it does not match the key)", cert_file);
  }
  *out = s;
  return 0;
}

void gw_signer_free(gw_signer *s) {
  if (!s) return;
  if (s->key) xmlSecKeyDestroy(s->key);
  for (size_t i = 0; i < s->n_spare; i++) xmlSecKeyDestroy(s->spare[i]);
  pthread_mutex_destroy(&s->mu);
  EVP_PKEY_free(s->pkey);
  free(s);
}

static xmlSecKeyPtr key_take(gw_signer *s) {
  xmlSecKeyPtr k = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->n_spare) k = s->spare[--s->n_spare];
  pthread_mutex_unlock(&s->mu);
  return k ? k : xmlSecKeyDuplicate(s->key);
}

static void key_give(gw_signer *s, xmlSecKeyPtr k) {
  if (!k) return;
  pthread_mutex_lock(&s->mu);
  if (s->n_spare < GW_SIGNER_SPARE) {
    s->spare[s->n_spare++] = k;
    k = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (k) xmlSecKeyDestroy(k);
}

static size_t b64url(const unsigned char *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = t[v >> 18], out[o++] = t[(v >> 12) & 63], out[o++] = t[(v >> 6) & 63], out[o++] = t[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = t[v >> 18], out[o++] = t[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = t[v >> 18], out[o++] = t[(v >> 12) & 63], out[o++] = t[(v >> 6) & 63];
  }
  out[o] = 0;
  return o;
}

int gw_signer_jws_detached(gw_signer *s, const void *payload, size_t len, char **out, gw_error *err) {
  /* RFC 7515 with an unencoded, detached payload (RFC 7797: b64=false), so
   * the receiver verifies the bytes it got without re-encoding them. */
  const char *hdr = s->rsa ? "{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}"
                           : "{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}";
  char h64[128];
  size_t hl = b64url((const unsigned char *)hdr, strlen(hdr), h64);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[600], raw[512];
  size_t dl = sizeof(der), rl = 0;
  int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->pkey) == 1 &&
           EVP_DigestSignUpdate(md, h64, hl) == 1 && EVP_DigestSignUpdate(md, ".", 1) == 1 &&
           EVP_DigestSignUpdate(md, payload, len) == 1 && EVP_DigestSignFinal(md, der, &dl) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return GW_ERR(err, GW_ECRYPTO, "JWS signing failed");
  if (s->rsa) {
    memcpy(raw, der, dl);
    rl = dl;
  } else {
    /* JWS wants ECDSA as r||s, 32 bytes each; OpenSSL gives DER. */
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!sig) return GW_ERR(err, GW_ECRYPTO, "JWS signing failed");
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(sig, &r, &sv);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    if (!ok) return GW_ERR(err, GW_ECRYPTO, "JWS signing failed");
    rl = 64;
  }
  char *o = malloc(hl + 2 + rl * 4 / 3 + 4);
  if (!o) return GW_ERR(err, GW_ENOMEM, "out of memory");
  memcpy(o, h64, hl);
  o[hl] = '.', o[hl + 1] = '.';
  b64url(raw, rl, o + hl + 2);
  *out = o;
  return 0;
}

int gw_signer_sign(gw_signer *s, xmlDocPtr doc, gw_error *err) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!root) return GW_ERR(err, GW_EINVAL, "document has no root element");
  xmlNodePtr sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, s->alg, NULL);
  if (!sig) return GW_ERR(err, GW_ECRYPTO, "cannot create signature template");
  xmlAddChild(root, sig);
  int rc = 0;
  xmlSecDSigCtxPtr ctx = NULL;
  xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, (const xmlChar *)"", NULL);
  xmlNodePtr ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
  if (!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
      !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) || !ki ||
      !xmlSecTmplKeyInfoAddX509Data(ki)) {
    rc = GW_ERR(err, GW_ECRYPTO, "cannot build signature template");
    goto out;
  }
  ctx = xmlSecDSigCtxCreate(NULL);
  if (!ctx) {
    rc = GW_ERR(err, GW_ENOMEM, "cannot create signature context");
    goto out;
  }
  /* Threads sign at once: each context gets a copy of its own, and takes it
   * back from the context before the context would destroy it. */
  ctx->signKey = key_take(s);
  if (!ctx->signKey) {
    rc = GW_ERR(err, GW_ENOMEM, "cannot copy signing key");
    goto out;
  }
  if (xmlSecDSigCtxSign(ctx, sig) < 0) rc = GW_ERR(err, GW_ECRYPTO, "XMLDSig signing failed");
  key_give(s, ctx->signKey);
  ctx->signKey = NULL;
out:
  if (ctx) xmlSecDSigCtxDestroy(ctx);
  if (rc) {
    xmlUnlinkNode(sig);
    xmlFreeNode(sig);
  }
  return rc;
}

int gw_signature_verify_with_cert(xmlDocPtr doc, const char *cert_file, gw_error *err) {
  xmlNodePtr sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
  if (!sig) return GW_ERR(err, GW_ENOTFOUND, "no ds:Signature in the document");
  xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
  if (!ctx) return GW_ERR(err, GW_ENOMEM, "cannot create signature context");
  int rc = 0;
  ctx->signKey = xmlSecCryptoAppKeyLoad(cert_file, xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
  if (!ctx->signKey) rc = GW_ERR(err, GW_ECRYPTO, "cannot load certificate %s", cert_file);
  else if (xmlSecDSigCtxVerify(ctx, sig) < 0) rc = GW_ERR(err, GW_ECRYPTO, "signature processing failed");
  else if (ctx->status != xmlSecDSigStatusSucceeded) rc = GW_ERR(err, GW_ECRYPTO, "signature does not verify");
  xmlSecDSigCtxDestroy(ctx);
  return rc;
}
