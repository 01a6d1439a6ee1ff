#include "pipeline/sign.h"

#include <libxml/c14n.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

/* Signing does not go through xmlsec: its transform chain, node-set walks and
 * per-call template cost two to three times the canonicalisation, digest and
 * signature themselves (bench/README.md). The signature is always the same
 * shape, so everything but the two digests and the signature value is
 * prepared once at load, and the document is canonicalised straight into the
 * digest. xmlsec still verifies (gw_signature_verify_with_cert, the trust
 * module), and the tests check our signatures with it and with the xmlsec1
 * command. */

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"

struct gw_signer {
  EVP_PKEY *pkey;
  EVP_MD *sha256;
  int rsa;
  const char *method; /* SignatureMethod's Algorithm */
  char *cert_b64;     /* X509Certificate's text: the signing certificate, DER in base64 lines */
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
  s->rsa = !strcmp(algorithm, "rsa-2048");
  s->method = s->rsa ? "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
                     : "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
  s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  FILE *f = fopen(key_file, "rb");
  s->pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
  if (f) fclose(f);
  if (!s->pkey || !s->sha256) {
    gw_signer_free(s);
    return GW_ERR(err, GW_ECRYPTO, "cannot load signing key %s", key_file);
  }
  f = fopen(cert_file, "rb");
  X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
  if (f) fclose(f);
  unsigned char *der = NULL;
  int dl = cert && X509_check_private_key(cert, s->pkey) == 1 ? i2d_X509(cert, &der) : -1;
  X509_free(cert);
  if (dl <= 0) {
    gw_signer_free(s);
    return GW_ERR(err, GW_ECRYPTO, "cannot load signing certificate %s (or it does not match the key)", cert_file);
  }
  /* Lines of 64 characters, as PEM and xmlsec write them. */
  char *t = s->cert_b64 = malloc(1 + ((size_t)dl + 47) / 48 * 65 + 1);
  if (t) {
    *t++ = '\n';
    for (int i = 0; i < dl; i += 48) {
      t += EVP_EncodeBlock((unsigned char *)t, der + i, dl - i < 48 ? dl - i : 48);
      *t++ = '\n';
    }
    *t = 0;
  }
  OPENSSL_free(der);
  if (!s->cert_b64) {
    gw_signer_free(s);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  *out = s;
  return 0;
}

void gw_signer_free(gw_signer *s) {
  if (!s) return;
  EVP_PKEY_free(s->pkey);
  EVP_MD_free(s->sha256);
  free(s->cert_b64);
  free(s);
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

/* The signature over head and then data, as XMLDSig and JWS want it:
 * PKCS#1 v1.5 bytes for RSA; for ECDSA r and s, 32 bytes each (RFC 4051
 * section 3.3, RFC 7518 section 3.4), where OpenSSL gives DER. out holds 512. */
static int sign_bytes(gw_signer *s, const void *head, size_t hl, const void *data, size_t len, unsigned char *out,
                      size_t *out_len) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[600];
  size_t dl = sizeof(der);
  int ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, s->pkey, NULL) == 1 &&
           EVP_DigestSignUpdate(md, head, hl) == 1 && EVP_DigestSignUpdate(md, data, len) == 1 &&
           EVP_DigestSignFinal(md, der, &dl) == 1;
  EVP_MD_CTX_free(md);
  if (!ok || dl > 512) return -1;
  if (s->rsa) {
    memcpy(out, der, dl);
    *out_len = dl;
    return 0;
  }
  const unsigned char *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
  if (!sig) return -1;
  const BIGNUM *r, *sv;
  ECDSA_SIG_get0(sig, &r, &sv);
  ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(sv, out + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  *out_len = 64;
  return ok ? 0 : -1;
}

int gw_signer_jws_detached(gw_signer *s, const void *payload, size_t len, char **out, gw_error *err) {
  /* RFC 7515 with an unencoded, detached payload (RFC 7797: b64=false), so
   * the receiver verifies the bytes it got without re-encoding them. */
  const char *hdr = s->rsa ? "{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}"
                           : "{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}";
  char h64[128];
  size_t hl = b64url((const unsigned char *)hdr, strlen(hdr), h64);
  h64[hl] = '.';
  unsigned char raw[512];
  size_t rl = 0;
  if (sign_bytes(s, h64, hl + 1, payload, len, raw, &rl)) return GW_ERR(err, GW_ECRYPTO, "JWS signing failed");
  char *o = malloc(hl + 2 + rl * 4 / 3 + 4);
  if (!o) return GW_ERR(err, GW_ENOMEM, "out of memory");
  memcpy(o, h64, hl);
  o[hl] = '.', o[hl + 1] = '.';
  b64url(raw, rl, o + hl + 2);
  *out = o;
  return 0;
}

/* ---- enveloped XMLDSig ------------------------------------------------------------------------- */

static xmlNodePtr add_el(xmlNodePtr parent, const char *name, const char *attr, const char *value) {
  xmlNodePtr n = xmlNewDocNode(parent->doc, parent->ns, BAD_CAST name, NULL);
  if (!n) return NULL;
  xmlAddChild(parent, n);
  if (attr && !xmlNewProp(n, BAD_CAST attr, BAD_CAST value)) return NULL;
  return n;
}

static int add_text(xmlNodePtr parent, const char *text) {
  xmlNodePtr t = xmlNewDocText(parent->doc, BAD_CAST text);
  if (!t) return -1;
  xmlAddChild(parent, t);
  return 0;
}

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int overflow;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->n + n > b->cap) {
    b->overflow = 1;
    return;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
#define PUTS(b, s) put((b), (s), strlen(s))

static void put_escaped(sbuf *b, const char *s, int attr) {
  for (; *s; s++) switch (*s) {
      case '&': PUTS(b, "&amp;"); break;
      case '<': PUTS(b, "&lt;"); break;
      case '>':
        if (attr) put(b, s, 1);
        else PUTS(b, "&gt;");
        break;
      case '"':
        if (attr) PUTS(b, "&quot;");
        else put(b, s, 1);
        break;
      case '\t':
        if (attr) PUTS(b, "&#x9;");
        else put(b, s, 1);
        break;
      case '\n':
        if (attr) PUTS(b, "&#xA;");
        else put(b, s, 1);
        break;
      case '\r': PUTS(b, "&#xD;"); break;
      default: put(b, s, 1);
    }
}

/* The exclusive canonical form (without comments) of the SignedInfo we built:
 * elements of the one default namespace, declared on the apex, one attribute
 * each at most, text and elements only, so the general algorithm reduces to
 * this. What a verifier canonicalises from the sent document is exactly it. */
static void c14n_built(sbuf *b, xmlNodePtr n, int apex) {
  if (n->type == XML_TEXT_NODE) {
    put_escaped(b, (const char *)n->content, 0);
    return;
  }
  PUTS(b, "<");
  PUTS(b, (const char *)n->name);
  if (apex) PUTS(b, " xmlns=\"" DSIG_NS "\"");
  for (xmlAttrPtr a = n->properties; a; a = a->next) {
    PUTS(b, " ");
    PUTS(b, (const char *)a->name);
    PUTS(b, "=\"");
    put_escaped(b, a->children ? (const char *)a->children->content : "", 1);
    PUTS(b, "\"");
  }
  PUTS(b, ">");
  for (xmlNodePtr c = n->children; c; c = c->next) c14n_built(b, c, 0);
  PUTS(b, "</");
  PUTS(b, (const char *)n->name);
  PUTS(b, ">");
}

static int digest_write(void *ctx, const char *buf, int len) {
  return EVP_DigestUpdate(ctx, buf, (size_t)len) == 1 ? len : -1;
}

/* SHA-256 of the document's exclusive canonical form without comments: the
 * Reference URI="" with the enveloped transform, computed before the
 * signature is added, so there is nothing to leave out. */
static int digest_document(gw_signer *s, xmlDocPtr doc, unsigned char md[32]) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestInit_ex(c, s->sha256, NULL) == 1;
  if (ok) {
    xmlOutputBufferPtr ob = xmlOutputBufferCreateIO(digest_write, NULL, c, NULL);
    ok = ob && xmlC14NDocSaveTo(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob) >= 0;
    /* Flushes what the buffer still holds into the digest. */
    if (ob && xmlOutputBufferClose(ob) < 0) ok = 0;
  }
  unsigned int ml = 0;
  ok = ok && EVP_DigestFinal_ex(c, md, &ml) == 1 && ml == 32;
  EVP_MD_CTX_free(c);
  return ok ? 0 : -1;
}

int gw_signer_sign(gw_signer *s, xmlDocPtr doc, gw_error *err) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!root) return GW_ERR(err, GW_EINVAL, "document has no root element");
  unsigned char md[32], sv[512];
  char md64[48], sv64[700], si[2048];
  size_t svl = 0;
  if (digest_document(s, doc, md)) return GW_ERR(err, GW_ECRYPTO, "cannot canonicalise and digest the document");
  EVP_EncodeBlock((unsigned char *)md64, md, 32);

  /* <Signature xmlns="...xmldsig#"> with the layout xmlsec's template has, so
   * signed documents look as they did when xmlsec made them. */
  xmlNodePtr sig = xmlNewDocNode(doc, NULL, BAD_CAST "Signature", NULL);
  xmlNsPtr ns = sig ? xmlNewNs(sig, BAD_CAST DSIG_NS, NULL) : NULL;
  if (!ns) {
    xmlFreeNode(sig);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  xmlSetNs(sig, ns);
  xmlNodePtr sinfo, ref, tr, val, ki, x5;
  int bad = add_text(sig, "\n") || !(sinfo = add_el(sig, "SignedInfo", NULL, NULL)) || add_text(sinfo, "\n") ||
            !add_el(sinfo, "CanonicalizationMethod", "Algorithm", EXC_C14N) || add_text(sinfo, "\n") ||
            !add_el(sinfo, "SignatureMethod", "Algorithm", s->method) || add_text(sinfo, "\n") ||
            !(ref = add_el(sinfo, "Reference", "URI", "")) || add_text(sinfo, "\n") || add_text(ref, "\n") ||
            !(tr = add_el(ref, "Transforms", NULL, NULL)) || add_text(ref, "\n") || add_text(tr, "\n") ||
            !add_el(tr, "Transform", "Algorithm", DSIG_NS "enveloped-signature") || add_text(tr, "\n") ||
            !add_el(tr, "Transform", "Algorithm", EXC_C14N) || add_text(tr, "\n") ||
            !add_el(ref, "DigestMethod", "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256") ||
            add_text(ref, "\n") || !(val = add_el(ref, "DigestValue", NULL, NULL)) || add_text(val, md64) ||
            add_text(ref, "\n") || add_text(sig, "\n") || !(val = add_el(sig, "SignatureValue", NULL, NULL)) ||
            add_text(sig, "\n") || !(ki = add_el(sig, "KeyInfo", NULL, NULL)) || add_text(sig, "\n") ||
            add_text(ki, "\n") || !(x5 = add_el(ki, "X509Data", NULL, NULL)) || add_text(ki, "\n") ||
            add_text(x5, "\n") || !(x5 = add_el(x5, "X509Certificate", NULL, NULL)) || add_text(x5, s->cert_b64) ||
            add_text(x5->parent, "\n");
  if (bad) {
    xmlFreeNode(sig);
    return GW_ERR(err, GW_ENOMEM, "out of memory building the signature");
  }
  sbuf b = {si, 0, sizeof(si), 0};
  c14n_built(&b, sinfo, 1);
  if (b.overflow || sign_bytes(s, "", 0, si, b.n, sv, &svl)) {
    xmlFreeNode(sig);
    return GW_ERR(err, GW_ECRYPTO, "XMLDSig signing failed");
  }
  EVP_EncodeBlock((unsigned char *)sv64, sv, (int)svl);
  if (add_text(val, sv64)) {
    xmlFreeNode(sig);
    return GW_ERR(err, GW_ENOMEM, "out of memory building the signature");
  }
  xmlAddChild(root, sig);
  return 0;
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
