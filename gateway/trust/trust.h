/* lmcgw — verification of incoming XMLDSig signatures against a country's
 * trust store.
 *
 * A trust store is a directory of PEM/DER certificates and CRLs, loaded once
 * and then read-only: worker threads share it and may verify at once.
 * Self-signed certificates are the anchors; every other certificate helps to
 * build chains (intermediates, known signing certificates that a signature
 * names by X509IssuerSerial/SKI/SubjectName) but is never trusted alone.
 *
 * Policy of gw_trust_verify_doc (each refusal has a stable reason code):
 *  - exactly one ds:Signature with exactly one Reference, and that Reference
 *    covers the whole document: URI="" or URI="#id" naming the document
 *    element (one element carries that id), with the enveloped-signature
 *    transform; anything else is refused as signature wrapping, so what the
 *    gateway processes is exactly what was verified;
 *  - algorithms: RSA or ECDSA with SHA-256/384/512, digests SHA-256/384/512,
 *    inclusive C14N 1.0/1.1 or exclusive C14N (with or without comments);
 *    HMAC, DSA, SHA-1, MD5, XSLT and everything else are refused;
 *  - the key comes from a certificate in KeyInfo/X509Data (or from the store
 *    when X509Data names it); it must chain to an anchor at the verification
 *    time, not be revoked by a CRL of the store, and carry digitalSignature
 *    or nonRepudiation when it has a keyUsage. A signature that is valid with
 *    a bare KeyValue (or a certificate that does not chain) is refused as
 *    untrusted, and says that the signature itself was valid;
 *  - nothing is ever fetched: no network, no file named by the document. */
#ifndef GW_TRUST_TRUST_H
#define GW_TRUST_TRUST_H

#include <libxml/tree.h>
#include <stddef.h>
#include <time.h>

#include "core/error.h"

typedef struct gw_trust_store gw_trust_store;

typedef enum gw_trust_status {
  GW_TRUST_OK = 0,
  GW_TRUST_NOT_SIGNED,         /* no ds:Signature */
  GW_TRUST_MALFORMED,          /* ds:Signature not as XMLDSig says */
  GW_TRUST_WRAPPING,           /* the signature does not cover exactly the document */
  GW_TRUST_ALGORITHM_REFUSED,  /* an algorithm or transform outside the policy */
  GW_TRUST_DIGEST_MISMATCH,    /* the covered content was changed */
  GW_TRUST_SIGNATURE_INVALID,  /* SignedInfo or SignatureValue changed, or wrong key */
  GW_TRUST_UNTRUSTED,          /* no certificate, or no chain to an anchor */
  GW_TRUST_EXPIRED,
  GW_TRUST_NOT_YET_VALID,
  GW_TRUST_REVOKED,
  GW_TRUST_KEY_USAGE,          /* certificate not meant for signing */
  GW_TRUST_WRONG_COUNTRY,      /* signer's C is not the expected country */
} gw_trust_status;

/* Stable short code: "ok", "not_signed", "malformed_signature", "wrapping",
 * "algorithm_refused", "digest_mismatch", "signature_invalid", "untrusted",
 * "expired", "not_yet_valid", "revoked", "key_usage", "wrong_country". */
const char *gw_trust_status_code(gw_trust_status s);

/* What to do with a certificate whose issuer has no CRL in the store.
 * soft: it is not checked for revocation (the default); hard: refused as
 * untrusted. A CRL that is present but expired or badly signed always
 * refuses (untrusted): a stale list is not read as "nothing revoked". */
typedef enum gw_trust_crl_policy { GW_TRUST_CRL_SOFT = 0, GW_TRUST_CRL_HARD = 1 } gw_trust_crl_policy;

/* Parses "soft" or "hard"; 0 on success. */
int gw_trust_crl_policy_parse(const char *s, gw_trust_crl_policy *out);

typedef struct gw_trust_opts {
  time_t at;                      /* verification time; 0 = now */
  const char *country;            /* expected signer country (subject C), NULL = any */
  gw_trust_crl_policy crl_policy;
  /* Accept an enveloping signature: the document element is ds:Signature and
   * its one Reference names a ds:Object child, which is then what is covered
   * (res->covered) and what the caller must process. Off by default. */
  int allow_enveloping;
} gw_trust_opts;

#define GW_TRUST_MAX_CHAIN 8

typedef struct gw_trust_result {
  gw_trust_status status;
  int signature_valid;            /* the signature verified with the key it carries,
                                     whatever the trust in that key */
  xmlNodePtr covered;             /* the element the Reference covers (in doc), or NULL */
  char signer[512];               /* signing certificate subject, one line (RFC 2253), "" if none */
  char signer_country[4];
  char chain[GW_TRUST_MAX_CHAIN][512]; /* subjects from the signer's issuer up to the anchor */
  size_t chain_len;
  char sig_alg[32];               /* short names: "ecdsa-sha256", "sha256", "exc-c14n" */
  char digest_alg[32];
  char c14n_alg[32];
  char sig_alg_uri[128];
  char digest_alg_uri[128];
  char message[512];              /* why, for people */
} gw_trust_result;

/* Loads every *.pem, *.crt, *.cer, *.der (certificates; a PEM file may hold
 * several, and CRLs too) and *.crl (PEM or DER) in dir; other files are
 * ignored. Fails, naming the file, on one that cannot be read or holds
 * nothing usable, and when there is no anchor. *out is freed with
 * gw_trust_store_free. */
int gw_trust_store_load(gw_trust_store **out, const char *dir, gw_error *err);
void gw_trust_store_free(gw_trust_store *ts);
/* Counts, for start-up logs and the CLI. */
void gw_trust_store_counts(const gw_trust_store *ts, size_t *anchors, size_t *others, size_t *crls);

/* Verifies the signature of doc (parsed by the caller, e.g. gw_xml_parse) under
 * the store's trust and opts (NULL = defaults). Always fills res. Returns 0
 * when res->status is GW_TRUST_OK; GW_ECRYPTO when the signature is refused
 * (err->msg is "<code>: <message>"); GW_ENOMEM/GW_EINVAL on failures of its
 * own. doc is not changed except that an id named by URI="#id" is registered
 * as an ID attribute. */
int gw_trust_verify_doc(const gw_trust_store *ts, xmlDocPtr doc, const gw_trust_opts *opts, gw_trust_result *res,
                        gw_error *err);

#endif
