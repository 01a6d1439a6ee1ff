/* lmcgw — verification of XMLDSig signatures against a trust store (see
 * trust.h for the policy).
 *
 * The work is split so that each refusal has one reason: the structure and
 * the algorithms are checked on the tree first; xmlsec then checks digests
 * and the signature value with whatever key KeyInfo carries (certificates
 * are deliberately not verified there); only then is the key's certificate
 * judged with OpenSSL's X509_verify_cert against the store. That way a
 * signature made with an unknown key is reported as "valid signature,
 * untrusted key" rather than as a broken one. */
#include "trust/trust.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keyinfo.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

struct gw_trust_store {
  X509_STORE *store;      /* anchors and CRLs */
  STACK_OF(X509) *others; /* intermediates and known signing certificates */
  STACK_OF(X509) *all;    /* anchors and others: what X509Data may name */
  size_t n_anchors, n_crls;
};

static const char *const codes[] = {
    [GW_TRUST_OK] = "ok",
    [GW_TRUST_NOT_SIGNED] = "not_signed",
    [GW_TRUST_MALFORMED] = "malformed_signature",
    [GW_TRUST_WRAPPING] = "wrapping",
    [GW_TRUST_ALGORITHM_REFUSED] = "algorithm_refused",
    [GW_TRUST_DIGEST_MISMATCH] = "digest_mismatch",
    [GW_TRUST_SIGNATURE_INVALID] = "signature_invalid",
    [GW_TRUST_UNTRUSTED] = "untrusted",
    [GW_TRUST_EXPIRED] = "expired",
    [GW_TRUST_NOT_YET_VALID] = "not_yet_valid",
    [GW_TRUST_REVOKED] = "revoked",
    [GW_TRUST_KEY_USAGE] = "key_usage",
    [GW_TRUST_WRONG_COUNTRY] = "wrong_country",
};

const char *gw_trust_status_code(gw_trust_status s) {
  return (unsigned)s < sizeof(codes) / sizeof(codes[0]) && codes[s] ? codes[s] : "unknown";
}

int gw_trust_crl_policy_parse(const char *s, gw_trust_crl_policy *out) {
  if (!s) return GW_EINVAL;
  if (!strcmp(s, "soft")) *out = GW_TRUST_CRL_SOFT;
  else if (!strcmp(s, "hard")) *out = GW_TRUST_CRL_HARD;
  else return GW_EINVAL;
  return 0;
}

/* ---- trust store ------------------------------------------------------------ */

void gw_trust_store_free(gw_trust_store *ts) {
  if (!ts) return;
  X509_STORE_free(ts->store);
  sk_X509_pop_free(ts->others, X509_free);
  sk_X509_pop_free(ts->all, X509_free);
  free(ts);
}

void gw_trust_store_counts(const gw_trust_store *ts, size_t *anchors, size_t *others, size_t *crls) {
  if (anchors) *anchors = ts->n_anchors;
  if (others) *others = (size_t)sk_X509_num(ts->others);
  if (crls) *crls = ts->n_crls;
}

static int has_suffix(const char *name, const char *suf) {
  size_t n = strlen(name), s = strlen(suf);
  return n > s && !strcasecmp(name + n - s, suf);
}

static int is_self_signed(X509 *x) {
  /* EXFLAG_SS: subject equals issuer and the key identifiers agree; the
   * anchor's own signature is not what makes it trusted: its presence in
   * the directory does. */
  return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

/* Takes ownership of x. */
static int add_cert(gw_trust_store *ts, X509 *x, const char *path, gw_error *err) {
  if (!sk_X509_push(ts->all, x)) {
    X509_free(x);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  X509_up_ref(x); /* one reference in all, one for the store or others */
  if (is_self_signed(x)) {
    int ok = X509_STORE_add_cert(ts->store, x);
    X509_free(x);
    if (!ok) return GW_ERR(err, GW_ECRYPTO, "trust store: cannot add the anchor in %s", path);
    ts->n_anchors++;
    return 0;
  }
  if (!sk_X509_push(ts->others, x)) {
    X509_free(x);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  return 0;
}

static int add_crl(gw_trust_store *ts, X509_CRL *c, const char *path, gw_error *err) {
  int ok = X509_STORE_add_crl(ts->store, c);
  X509_CRL_free(c);
  if (!ok) return GW_ERR(err, GW_ECRYPTO, "trust store: cannot add the CRL in %s", path);
  ts->n_crls++;
  return 0;
}

/* One file: PEM first (any number of certificates and CRLs), then a single
 * DER certificate or CRL. */
static int load_file(gw_trust_store *ts, const char *path, int crl_file, gw_error *err) {
  BIO *b = BIO_new_file(path, "rb");
  if (!b) return GW_ERR(err, GW_EIO, "trust store: cannot read %s: %s", path, strerror(errno));
  int rc = 0, found = 0;
  STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
  for (int i = 0; infos && i < sk_X509_INFO_num(infos) && !rc; i++) {
    X509_INFO *xi = sk_X509_INFO_value(infos, i);
    if (xi->x509) {
      rc = add_cert(ts, xi->x509, path, err);
      xi->x509 = NULL;
      found++;
    }
    if (!rc && xi->crl) {
      rc = add_crl(ts, xi->crl, path, err);
      xi->crl = NULL;
      found++;
    }
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  if (!rc && !found) {
    ERR_clear_error();
    (void)BIO_reset(b);
    if (crl_file) {
      X509_CRL *c = d2i_X509_CRL_bio(b, NULL);
      if (c) rc = add_crl(ts, c, path, err), found = 1;
    } else {
      X509 *x = d2i_X509_bio(b, NULL);
      if (x) rc = add_cert(ts, x, path, err), found = 1;
    }
  }
  BIO_free(b);
  ERR_clear_error();
  if (!rc && !found)
    rc = GW_ERR(err, GW_ECRYPTO, "trust store: %s holds no %s (PEM or DER)", path,
                crl_file ? "CRL" : "certificate");
  return rc;
}

int gw_trust_store_load(gw_trust_store **out, const char *dir, gw_error *err) {
  *out = NULL;
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) return GW_ERR(err, GW_EIO, "trust store: cannot list %s: %s", dir, strerror(errno));
  gw_trust_store *ts = calloc(1, sizeof(*ts));
  int rc = 0;
  if (!ts || !(ts->store = X509_STORE_new()) || !(ts->others = sk_X509_new_null()) ||
      !(ts->all = sk_X509_new_null()))
    rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    const char *nm = names[i]->d_name;
    if (!rc && nm[0] != '.') {
      int crl = has_suffix(nm, ".crl");
      if (crl || has_suffix(nm, ".pem") || has_suffix(nm, ".crt") || has_suffix(nm, ".cer") ||
          has_suffix(nm, ".der")) {
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, nm) >= (int)sizeof(path))
          rc = GW_ERR(err, GW_EINVAL, "trust store: path too long in %s", dir);
        else rc = load_file(ts, path, crl, err);
      }
    }
    free(names[i]);
  }
  free(names);
  if (!rc && ts->n_anchors == 0)
    rc = GW_ERR(err, GW_ECONFIG, "trust store %s has no anchor (self-signed CA certificate)", dir);
  if (rc) {
    gw_trust_store_free(ts);
    return rc;
  }
  *out = ts;
  return 0;
}

/* ---- the algorithm policy --------------------------------------------------- */

#define DSIG "http://www.w3.org/2000/09/xmldsig#"
#define MORE "http://www.w3.org/2001/04/xmldsig-more#"
#define ENC "http://www.w3.org/2001/04/xmlenc#"

typedef struct alg {
  const char *uri, *name;
} alg;

static const alg sig_algs[] = {
    {MORE "rsa-sha256", "rsa-sha256"},     {MORE "rsa-sha384", "rsa-sha384"},     {MORE "rsa-sha512", "rsa-sha512"},
    {MORE "ecdsa-sha256", "ecdsa-sha256"}, {MORE "ecdsa-sha384", "ecdsa-sha384"}, {MORE "ecdsa-sha512", "ecdsa-sha512"},
    {NULL, NULL}};
static const alg digest_algs[] = {
    {ENC "sha256", "sha256"}, {MORE "sha384", "sha384"}, {ENC "sha512", "sha512"}, {NULL, NULL}};
static const alg c14n_algs[] = {{"http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "c14n"},
                                {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", "c14n-comments"},
                                {"http://www.w3.org/2006/12/xml-c14n11", "c14n11"},
                                {"http://www.w3.org/2006/12/xml-c14n11#WithComments", "c14n11-comments"},
                                {"http://www.w3.org/2001/10/xml-exc-c14n#", "exc-c14n"},
                                {"http://www.w3.org/2001/10/xml-exc-c14n#WithComments", "exc-c14n-comments"},
                                {NULL, NULL}};
#define ENVELOPED_URI DSIG "enveloped-signature"
#define XPATH_URI "http://www.w3.org/TR/1999/REC-xpath-19991116"

static const char *alg_name(const alg *list, const char *uri) {
  for (; uri && list->uri; list++)
    if (!strcmp(list->uri, uri)) return list->name;
  return NULL;
}

static void enable_transforms(xmlSecDSigCtxPtr ctx) {
  const xmlSecTransformId c14n[] = {xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId,
                                    xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId,
                                    xmlSecTransformExclC14NId,   xmlSecTransformExclC14NWithCommentsId};
  const xmlSecTransformId sig[] = {xmlSecTransformRsaSha256Id,   xmlSecTransformRsaSha384Id,
                                   xmlSecTransformRsaSha512Id,   xmlSecTransformEcdsaSha256Id,
                                   xmlSecTransformEcdsaSha384Id, xmlSecTransformEcdsaSha512Id};
  const xmlSecTransformId dig[] = {xmlSecTransformSha256Id, xmlSecTransformSha384Id, xmlSecTransformSha512Id};
  for (size_t i = 0; i < sizeof(c14n) / sizeof(c14n[0]); i++) {
    xmlSecDSigCtxEnableSignatureTransform(ctx, c14n[i]);
    xmlSecDSigCtxEnableReferenceTransform(ctx, c14n[i]);
  }
  for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) xmlSecDSigCtxEnableSignatureTransform(ctx, sig[i]);
  for (size_t i = 0; i < sizeof(dig) / sizeof(dig[0]); i++) xmlSecDSigCtxEnableReferenceTransform(ctx, dig[i]);
  xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
  /* Only the one XPath expression that equals the enveloped transform gets
   * this far (check_transforms). */
  xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformXPathId);
}

/* ---- tree helpers ----------------------------------------------------------- */

static int is_ds(xmlNodePtr n, const char *name) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && !xmlStrcmp(n->ns->href, BAD_CAST DSIG) &&
         !xmlStrcmp(n->name, BAD_CAST name);
}

static xmlNodePtr next_elem(xmlNodePtr n) {
  while (n && n->type != XML_ELEMENT_NODE) n = n->next;
  return n;
}

static xmlNodePtr first_elem(xmlNodePtr parent) { return parent ? next_elem(parent->children) : NULL; }

static void find_signatures(xmlNodePtr n, xmlNodePtr *first, int *count) {
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is_ds(n, "Signature")) {
      if (!*first) *first = n;
      ++*count;
    }
    find_signatures(n->children, first, count);
  }
}

/* Every attribute called Id, ID or id (in any namespace: wsu:Id, xml:id)
 * with this value: an id that names two elements is how wrapping attacks
 * make the verifier and the application look at different elements. */
static void count_ids(xmlNodePtr n, const xmlChar *id, xmlAttrPtr *hit, int *count) {
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
      if (xmlStrcasecmp(a->name, BAD_CAST "id")) continue;
      xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
      if (v && !xmlStrcmp(v, id)) {
        *hit = a;
        ++*count;
      }
      xmlFree(v);
    }
    count_ids(n->children, id, hit, count);
  }
}

static void name_line(const X509_NAME *nm, char *out, size_t cap) {
  out[0] = 0;
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return;
  if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n > 0) snprintf(out, cap, "%.*s", (int)n, p);
  }
  BIO_free(b);
}

static void time_line(const ASN1_TIME *t, char *out, size_t cap) {
  out[0] = 0;
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return;
  if (ASN1_TIME_print(b, t)) {
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n > 0) snprintf(out, cap, "%.*s", (int)n, p);
  }
  BIO_free(b);
}

static int refuse(gw_trust_result *res, gw_trust_status st, gw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(gw_trust_result *res, gw_trust_status st, gw_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->message, sizeof(res->message), fmt, ap);
  va_end(ap);
  res->status = st;
  return GW_ERR(err, GW_ECRYPTO, "%s: %s", gw_trust_status_code(st), res->message);
}

/* ---- structure, algorithms, coverage ---------------------------------------- */

static const char *attr(xmlNodePtr n, const char *name, xmlChar **hold) {
  *hold = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
  return (const char *)*hold;
}

/* Is this ds:Transform the XPath form of the enveloped transform,
 * not(ancestor-or-self::P:Signature) with P bound to the XMLDSig namespace?
 * Older signers (and xmlsec's own vectors) write it; any other expression
 * would select a part of the document and is refused. */
static int xpath_is_enveloped(xmlNodePtr tr) {
  xmlNodePtr xp = first_elem(tr);
  if (!is_ds(xp, "XPath") || next_elem(xp->next)) return 0;
  xmlChar *text = xmlNodeGetContent(xp);
  if (!text) return 0;
  char buf[256];
  size_t o = 0;
  for (const xmlChar *p = text; *p && o + 1 < sizeof(buf); p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') buf[o++] = (char)*p;
  buf[o] = 0;
  xmlFree(text);
  static const char pre[] = "not(ancestor-or-self::", post[] = ":Signature)";
  size_t lp = strlen(pre), ls = strlen(post);
  if (o <= lp + ls || strncmp(buf, pre, lp) || strcmp(buf + o - ls, post)) return 0;
  char prefix[64];
  size_t pl = o - lp - ls;
  if (pl >= sizeof(prefix)) return 0;
  memcpy(prefix, buf + lp, pl);
  prefix[pl] = 0;
  xmlNsPtr ns = xmlSearchNs(xp->doc, xp, BAD_CAST prefix);
  return ns && !xmlStrcmp(ns->href, BAD_CAST DSIG);
}

/* Checks one Reference's DigestMethod and Transforms; *enveloped tells
 * whether the signature removes itself. */
static int check_reference(xmlNodePtr ref, int *enveloped, gw_trust_result *res, gw_error *err) {
  xmlNodePtr c = first_elem(ref), transforms = NULL;
  if (is_ds(c, "Transforms")) {
    transforms = c;
    c = next_elem(c->next);
  }
  if (!is_ds(c, "DigestMethod") || !is_ds(next_elem(c->next), "DigestValue"))
    return refuse(res, GW_TRUST_MALFORMED, err, "ds:Reference lacks DigestMethod/DigestValue");
  xmlChar *h = NULL;
  const char *uri = attr(c, "Algorithm", &h);
  const char *name = alg_name(digest_algs, uri);
  snprintf(res->digest_alg_uri, sizeof(res->digest_alg_uri), "%s", uri ? uri : "");
  snprintf(res->digest_alg, sizeof(res->digest_alg), "%s", name ? name : "");
  int rc = name ? 0 : refuse(res, GW_TRUST_ALGORITHM_REFUSED, err, "digest algorithm %s is not accepted (SHA-256/384/512 only)",
                             uri ? uri : "(none)");
  xmlFree(h);
  if (rc) return rc;
  *enveloped = 0;
  for (xmlNodePtr t = first_elem(transforms); t; t = next_elem(t->next)) {
    if (!is_ds(t, "Transform")) return refuse(res, GW_TRUST_MALFORMED, err, "unexpected element in ds:Transforms");
    uri = attr(t, "Algorithm", &h);
    if (uri && !strcmp(uri, ENVELOPED_URI)) *enveloped = 1;
    else if (uri && !strcmp(uri, XPATH_URI)) {
      if (xpath_is_enveloped(t)) *enveloped = 1;
      else rc = refuse(res, GW_TRUST_WRAPPING, err, "an XPath transform selects part of the document");
    } else if (!alg_name(c14n_algs, uri)) {
      rc = refuse(res, GW_TRUST_ALGORITHM_REFUSED, err,
                  "transform %s is not accepted (enveloped-signature and canonicalization only)", uri ? uri : "(none)");
    }
    xmlFree(h);
    if (rc) return rc;
  }
  return 0;
}

/* The structure of ds:Signature, its algorithms, and what its Reference
 * covers. Sets res->covered. */
static int check_signature(xmlDocPtr doc, xmlNodePtr sig, const gw_trust_opts *o, gw_trust_result *res,
                           gw_error *err) {
  xmlNodePtr si = first_elem(sig);
  if (!is_ds(si, "SignedInfo")) return refuse(res, GW_TRUST_MALFORMED, err, "ds:Signature does not start with ds:SignedInfo");
  xmlNodePtr sv = next_elem(si->next);
  if (!is_ds(sv, "SignatureValue")) return refuse(res, GW_TRUST_MALFORMED, err, "ds:SignatureValue missing");
  xmlNodePtr cm = first_elem(si), sm = cm ? next_elem(cm->next) : NULL;
  if (!is_ds(cm, "CanonicalizationMethod") || !is_ds(sm, "SignatureMethod"))
    return refuse(res, GW_TRUST_MALFORMED, err, "ds:SignedInfo lacks CanonicalizationMethod/SignatureMethod");
  xmlChar *h = NULL;
  const char *uri = attr(cm, "Algorithm", &h);
  const char *name = alg_name(c14n_algs, uri);
  snprintf(res->c14n_alg, sizeof(res->c14n_alg), "%s", name ? name : "");
  int rc = name ? 0
                : refuse(res, GW_TRUST_ALGORITHM_REFUSED, err, "canonicalization %s is not accepted",
                         uri ? uri : "(none)");
  xmlFree(h);
  if (rc) return rc;
  uri = attr(sm, "Algorithm", &h);
  name = alg_name(sig_algs, uri);
  snprintf(res->sig_alg_uri, sizeof(res->sig_alg_uri), "%s", uri ? uri : "");
  snprintf(res->sig_alg, sizeof(res->sig_alg), "%s", name ? name : "");
  if (!name)
    rc = refuse(res, GW_TRUST_ALGORITHM_REFUSED, err,
                "signature method %s is not accepted (RSA or ECDSA with SHA-256/384/512 only)", uri ? uri : "(none)");
  else if (first_elem(sm))
    rc = refuse(res, GW_TRUST_ALGORITHM_REFUSED, err, "signature method parameters (HMACOutputLength...) refused");
  xmlFree(h);
  if (rc) return rc;

  int nref = 0, enveloped = 0;
  xmlNodePtr ref = NULL;
  for (xmlNodePtr r = next_elem(sm->next); r; r = next_elem(r->next)) {
    if (!is_ds(r, "Reference")) return refuse(res, GW_TRUST_MALFORMED, err, "unexpected element in ds:SignedInfo");
    int env = 0;
    if ((rc = check_reference(r, &env, res, err))) return rc;
    if (!nref) ref = r, enveloped = env;
    nref++;
  }
  if (nref == 0) return refuse(res, GW_TRUST_MALFORMED, err, "ds:SignedInfo has no ds:Reference");
  if (nref > 1)
    return refuse(res, GW_TRUST_WRAPPING, err,
                  "%d references: exactly one, covering the whole document, is accepted", nref);

  xmlNodePtr root = xmlDocGetRootElement(doc);
  int enveloping = root == sig;
  if (enveloping && !o->allow_enveloping)
    return refuse(res, GW_TRUST_WRAPPING, err,
                  "enveloping signature: the content is inside ds:Object, not the document itself");
  if (!enveloping) {
    for (xmlNodePtr c = next_elem(sv->next); c; c = next_elem(c->next))
      if (is_ds(c, "Object"))
        return refuse(res, GW_TRUST_WRAPPING, err, "ds:Object inside an enveloped signature carries content that is not covered");
  }
  uri = attr(ref, "URI", &h);
  if (!uri) rc = refuse(res, GW_TRUST_WRAPPING, err, "ds:Reference without URI: what it covers is not defined");
  else if (!*uri) {
    if (enveloping) rc = refuse(res, GW_TRUST_WRAPPING, err, "URI=\"\" in an enveloping signature");
    else if (!enveloped)
      rc = refuse(res, GW_TRUST_WRAPPING, err, "URI=\"\" without the enveloped-signature transform");
    else res->covered = root;
  } else if (uri[0] != '#' || !uri[1] || strchr(uri, '(')) {
    rc = refuse(res, GW_TRUST_WRAPPING, err, "reference URI \"%.100s\" is not accepted (only \"\" or \"#id\")", uri);
  } else {
    xmlAttrPtr hit = NULL;
    int n = 0;
    count_ids(root, BAD_CAST uri + 1, &hit, &n);
    xmlNodePtr target = hit ? hit->parent : NULL;
    if (n == 0) rc = refuse(res, GW_TRUST_WRAPPING, err, "reference URI %.100s names no element", uri);
    else if (n > 1) rc = refuse(res, GW_TRUST_WRAPPING, err, "id %.100s is carried by %d elements", uri + 1, n);
    else if (enveloping && !(is_ds(target, "Object") && target->parent == sig))
      rc = refuse(res, GW_TRUST_WRAPPING, err, "reference %.100s is not a ds:Object of the enveloping signature", uri);
    else if (!enveloping && target != root)
      rc = refuse(res, GW_TRUST_WRAPPING, err,
                  "reference %.100s covers <%s>, not the document element <%s>", uri, (const char *)target->name,
                  (const char *)root->name);
    else if (!enveloping && !enveloped)
      rc = refuse(res, GW_TRUST_WRAPPING, err, "reference %.100s without the enveloped-signature transform", uri);
    else {
      /* xmlsec resolves "#id" through libxml2's ID table; documents carry no
       * DTD, so the one attribute found above is declared an ID here. */
      xmlAttrPtr known = xmlGetID(doc, BAD_CAST uri + 1);
      if (!known && !xmlAddID(NULL, doc, BAD_CAST uri + 1, hit))
        rc = refuse(res, GW_TRUST_MALFORMED, err, "cannot register id %.100s", uri + 1);
      else if (known && known != hit)
        rc = refuse(res, GW_TRUST_WRAPPING, err, "id %.100s is declared on another element", uri + 1);
      else res->covered = target;
    }
  }
  xmlFree(h);
  return rc;
}

/* ---- the key's certificate -------------------------------------------------- */

/* A CRL issued after the verification time (--at in the past) still tells
 * what was revoked; OpenSSL would refuse it as "not yet valid". */
static int crl_cb(int ok, X509_STORE_CTX *ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_NOT_YET_VALID) return 1;
  return ok;
}

static int soft_crl_cb(int ok, X509_STORE_CTX *ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) return 1;
  return crl_cb(ok, ctx);
}

static int check_cert(const gw_trust_store *ts, X509 *cert, xmlSecKeyDataPtr x509data, const gw_trust_opts *o,
                      gw_trust_result *res, gw_error *err) {
  name_line(X509_get_subject_name(cert), res->signer, sizeof(res->signer));
  const X509_NAME *subj = X509_get_subject_name(cert);
  int ci = X509_NAME_get_index_by_NID(subj, NID_countryName, -1);
  if (ci >= 0) {
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, ci));
    snprintf(res->signer_country, sizeof(res->signer_country), "%.*s", ASN1_STRING_length(s),
             (const char *)ASN1_STRING_get0_data(s));
  }
  STACK_OF(X509) *untrusted = sk_X509_dup(ts->others);
  X509_STORE_CTX *xc = X509_STORE_CTX_new();
  int rc = 0;
  if (!untrusted || !xc) {
    rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    goto out;
  }
  /* Certificates the document carries may fill gaps in the chain; they
   * never become anchors. */
  for (xmlSecSize i = 0; x509data && i < xmlSecOpenSSLKeyDataX509GetCertsSize(x509data); i++) {
    X509 *c = xmlSecOpenSSLKeyDataX509GetCert(x509data, i);
    if (c && c != cert && !sk_X509_push(untrusted, c)) {
      rc = GW_ERR(err, GW_ENOMEM, "out of memory");
      goto out;
    }
  }
  if (!X509_STORE_CTX_init(xc, ts->store, cert, untrusted)) {
    rc = GW_ERR(err, GW_ENOMEM, "cannot set up certificate verification");
    goto out;
  }
  X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(xc);
  X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  if (o->at) X509_VERIFY_PARAM_set_time(p, o->at);
  X509_STORE_CTX_set_verify_cb(xc, o->crl_policy == GW_TRUST_CRL_SOFT ? soft_crl_cb : crl_cb);
  int ok = X509_verify_cert(xc) == 1;
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xc);
  for (int i = 1; chain && i < sk_X509_num(chain) && res->chain_len < GW_TRUST_MAX_CHAIN; i++)
    name_line(X509_get_subject_name(sk_X509_value(chain, i)), res->chain[res->chain_len++], sizeof(res->chain[0]));
  if (!ok) {
    int e = X509_STORE_CTX_get_error(xc), depth = X509_STORE_CTX_get_error_depth(xc);
    X509 *bad = X509_STORE_CTX_get_current_cert(xc);
    char who[300] = "the signing certificate", when[64] = "";
    if (depth > 0 && bad) {
      char nm[256];
      name_line(X509_get_subject_name(bad), nm, sizeof(nm));
      snprintf(who, sizeof(who), "chain certificate %s", nm);
    }
    if (e == X509_V_ERR_CERT_HAS_EXPIRED) {
      if (bad) time_line(X509_get0_notAfter(bad), when, sizeof(when));
      rc = refuse(res, GW_TRUST_EXPIRED, err, "%s expired (not after %s)", who, when);
    } else if (e == X509_V_ERR_CERT_NOT_YET_VALID) {
      if (bad) time_line(X509_get0_notBefore(bad), when, sizeof(when));
      rc = refuse(res, GW_TRUST_NOT_YET_VALID, err, "%s is not valid yet (not before %s)", who, when);
    } else if (e == X509_V_ERR_CERT_REVOKED) {
      rc = refuse(res, GW_TRUST_REVOKED, err, "%s is revoked by a CRL of the trust store", who);
    } else if (e == X509_V_ERR_UNABLE_TO_GET_CRL) {
      rc = refuse(res, GW_TRUST_UNTRUSTED, err, "valid signature, but no CRL in the trust store for %s (crl_policy hard)",
                  who);
    } else if (e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_SIGNATURE_FAILURE ||
               e == X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE || e == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER ||
               e == X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD || e == X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD ||
               e == X509_V_ERR_DIFFERENT_CRL_SCOPE || e == X509_V_ERR_KEYUSAGE_NO_CRL_SIGN) {
      rc = refuse(res, GW_TRUST_UNTRUSTED, err, "valid signature, but the revocation status of %s cannot be checked: %s",
                  who, X509_verify_cert_error_string(e));
    } else {
      rc = refuse(res, GW_TRUST_UNTRUSTED, err, "valid signature, untrusted key (no chain): %s: %s", who,
                  X509_verify_cert_error_string(e));
    }
    goto out;
  }
  uint32_t xf = X509_get_extension_flags(cert);
  if ((xf & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
    rc = refuse(res, GW_TRUST_KEY_USAGE, err, "the signing certificate's keyUsage has neither digitalSignature nor nonRepudiation");
    goto out;
  }
  if (o->country && *o->country && strcasecmp(o->country, res->signer_country)) {
    rc = refuse(res, GW_TRUST_WRONG_COUNTRY, err, "signer country is %s, expected %s",
                res->signer_country[0] ? res->signer_country : "(none)", o->country);
    goto out;
  }
out:
  X509_STORE_CTX_free(xc);
  sk_X509_free(untrusted);
  ERR_clear_error();
  return rc;
}

/* ---- verification ----------------------------------------------------------- */

static xmlSecKeysMngrPtr lookup_mngr(const gw_trust_store *ts) {
  /* Per call, so no xmlsec state is shared between threads. The store's
   * certificates are there only so that X509IssuerSerial/SKI/SubjectName can
   * name one; xmlsec is told not to verify them (we do, afterwards). */
  xmlSecKeysMngrPtr m = xmlSecKeysMngrCreate();
  if (!m) return NULL;
  if (xmlSecCryptoAppDefaultKeysMngrInit(m) < 0) {
    xmlSecKeysMngrDestroy(m);
    return NULL;
  }
  xmlSecKeyDataStorePtr st = xmlSecKeysMngrGetDataStore(m, xmlSecOpenSSLX509StoreId);
  for (int i = 0; st && i < sk_X509_num(ts->all); i++) {
    X509 *x = sk_X509_value(ts->all, i);
    X509_up_ref(x);
    if (xmlSecOpenSSLX509StoreAdoptCert(st, x, xmlSecKeyDataTypeNone) < 0) X509_free(x);
  }
  return m;
}

int gw_trust_verify_doc(const gw_trust_store *ts, xmlDocPtr doc, const gw_trust_opts *opts, gw_trust_result *res,
                        gw_error *err) {
  static const gw_trust_opts defaults = {0};
  const gw_trust_opts *o = opts ? opts : &defaults;
  memset(res, 0, sizeof(*res));
  res->status = GW_TRUST_MALFORMED;
  if (!ts || !doc) return GW_ERR(err, GW_EINVAL, "no trust store or document");
  xmlNodePtr root = xmlDocGetRootElement(doc), sig = NULL;
  int nsig = 0;
  if (!root) return refuse(res, GW_TRUST_NOT_SIGNED, err, "the document has no element");
  find_signatures(root, &sig, &nsig);
  if (nsig == 0) return refuse(res, GW_TRUST_NOT_SIGNED, err, "no ds:Signature in the document");
  if (nsig > 1) return refuse(res, GW_TRUST_WRAPPING, err, "%d ds:Signature elements: exactly one is accepted", nsig);
  int rc = check_signature(doc, sig, o, res, err);
  if (rc) return rc;

  xmlSecKeysMngrPtr mngr = lookup_mngr(ts);
  xmlSecDSigCtxPtr ctx = mngr ? xmlSecDSigCtxCreate(mngr) : NULL;
  if (!ctx) {
    if (mngr) xmlSecKeysMngrDestroy(mngr);
    res->status = GW_TRUST_MALFORMED;
    return GW_ERR(err, GW_ENOMEM, "cannot create a signature context");
  }
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
  enable_transforms(ctx);
  xmlSecKeyInfoCtxPtr ki = &ctx->keyInfoReadCtx;
  ki->flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
  /* Keys from certificates (in the document or named from the store) and
   * bare key values (only to say that such a signature is valid but
   * untrusted); never KeyName, EncryptedKey, or anything from outside. */
  xmlSecPtrListAdd(&ki->enabledKeyData, (xmlSecPtr)xmlSecKeyDataX509Id);
  xmlSecPtrListAdd(&ki->enabledKeyData, (xmlSecPtr)xmlSecKeyDataRetrievalMethodId);
  xmlSecPtrListAdd(&ki->enabledKeyData, (xmlSecPtr)xmlSecKeyDataValueId);
  xmlSecPtrListAdd(&ki->enabledKeyData, (xmlSecPtr)xmlSecKeyDataRsaId);
  xmlSecPtrListAdd(&ki->enabledKeyData, (xmlSecPtr)xmlSecKeyDataEcdsaId);
  ki->retrievalMethodCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
  xmlSecPtrListAdd(&ki->retrievalMethodCtx.enabledTransforms, (xmlSecPtr)xmlSecTransformInclC14NId);
  if (o->at) ki->certsVerificationTime = o->at;

  int vr = xmlSecDSigCtxVerify(ctx, sig);
  int refs_ok = 1, nrefs = (int)xmlSecPtrListGetSize(&ctx->signedInfoReferences);
  for (int i = 0; i < nrefs; i++) {
    xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, (xmlSecSize)i);
    if (r && r->status != xmlSecDSigStatusSucceeded) refs_ok = 0;
  }
  if (nrefs && !refs_ok) {
    rc = refuse(res, GW_TRUST_DIGEST_MISMATCH, err, "the signed content was changed (digest does not match)");
  } else if (vr < 0 && !ctx->signKey) {
    rc = refuse(res, GW_TRUST_UNTRUSTED, err,
                "no usable key: KeyInfo has no X.509 certificate of the signer and names none in the trust store");
  } else if (vr < 0) {
    rc = refuse(res, GW_TRUST_MALFORMED, err, "the signature cannot be processed");
  } else if (ctx->status != xmlSecDSigStatusSucceeded) {
    rc = refuse(res, GW_TRUST_SIGNATURE_INVALID, err, "the signature value does not verify");
  } else {
    res->signature_valid = 1;
    xmlSecKeyDataPtr xd = xmlSecKeyGetData(ctx->signKey, xmlSecOpenSSLKeyDataX509Id);
    X509 *cert = xd ? xmlSecOpenSSLKeyDataX509GetKeyCert(xd) : NULL;
    EVP_PKEY *used = xmlSecKeyGetValue(ctx->signKey) ? xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(ctx->signKey))
                                                     : NULL;
    if (!cert)
      rc = refuse(res, GW_TRUST_UNTRUSTED, err,
                  "valid signature, untrusted key (no chain): the key is a bare KeyValue, not an X.509 certificate");
    else if (!used || EVP_PKEY_eq(X509_get0_pubkey(cert), used) != 1)
      rc = refuse(res, GW_TRUST_UNTRUSTED, err, "valid signature, untrusted key: it is not the certificate's key");
    else
      rc = check_cert(ts, cert, xd, o, res, err);
  }
  xmlSecDSigCtxDestroy(ctx);
  xmlSecKeysMngrDestroy(mngr);
  ERR_clear_error();
  if (rc) return rc;
  res->status = GW_TRUST_OK;
  snprintf(res->message, sizeof(res->message), "valid signature by %s", res->signer);
  return 0;
}
