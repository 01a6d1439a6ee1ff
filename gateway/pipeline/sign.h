/* lmcgw — enveloped XMLDSig signatures with the gateway's key (libxml2's
 * C14N and OpenSSL; xmlsec verifies): exclusive C14N, SHA-256 digest, ECDSA
 * P-256 or RSA-2048 with SHA-256, signing certificate in KeyInfo/X509Data.
 *
 * A gw_signer is loaded once and then shared by worker threads: it is not
 * changed after gw_signer_load, so calls may run at once.
 * The private key is never logged or printed. */
#ifndef GW_PIPELINE_SIGN_H
#define GW_PIPELINE_SIGN_H

#include <libxml/tree.h>

#include "core/error.h"

typedef struct gw_signer gw_signer;

/* algorithm: "ecdsa-p256" or "rsa-2048"; the key must be of that kind.
 * *out is freed with gw_signer_free. */
int gw_signer_load(gw_signer **out, const char *key_file, const char *cert_file, const char *algorithm,
                   gw_error *err);
void gw_signer_free(gw_signer *s);

/* Appends a ds:Signature as the last child of the root element and computes
 * it over the whole document (URI="", enveloped transform). On error the
 * document is left as it was. */
int gw_signer_sign(gw_signer *s, xmlDocPtr doc, gw_error *err);

/* A detached JWS (RFC 7515 compact form "header..signature", unencoded
 * payload per RFC 7797) over payload with the same key: ES256 or RS256. For
 * formats without an XML signature (UN/EDIFACT, JSON); it travels in the
 * lmcgw-jws Kafka header. *out is malloc'd. */
int gw_signer_jws_detached(gw_signer *s, const void *payload, size_t len, char **out, gw_error *err);

/* Verifies the enveloped signature(s) of doc with the key in cert_file
 * (trusted directly). Used by tests and tools; returns 0 when valid. */
int gw_signature_verify_with_cert(xmlDocPtr doc, const char *cert_file, gw_error *err);

#endif
