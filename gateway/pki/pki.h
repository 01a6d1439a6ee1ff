/* lmcgw — a development PKI for the six countries, made with OpenSSL's API
 * (`lmcgw pki init`), and the CRL helper tests use to revoke a certificate
 * (`lmcgw pki revoke`). Not for production: each agency brings its own PKI.
 *
 * Layout of DIR (also in DIR/README.txt and `lmcgw pki init --help`), for
 * each country CC:
 *   CC/trust/   what goes into the trust store certs/CC/: root.pem (the
 *               anchor), customs-ca.pem, plant-protection-ca.pem,
 *               animal-health-ca.pem (issuing CAs, signed by the root), and a
 *               CRL per CA in PEM: root.crl, customs-ca.crl, ... (empty,
 *               nextUpdate 30 days)
 *   CC/keys/    private keys, unencrypted PKCS#8 PEM, files 0600, dir 0700:
 *               the CA keys (root.key, customs-ca.key, ...) and one per leaf
 *   CC/certs/   leaf certificates NAME.pem and NAME-chain.pem (leaf, then its
 *               issuing CA) for NAME in gateway-signer, gateway-tls,
 *               customs-system, trader, inspector, admin, nppo-signer
 * DIR/ca-bundle.pem   every country's root (tls.client_ca for mutual TLS;
 *                     clients present their -chain.pem)
 * DIR/README.txt      what was made: file, subject, issuer, validity
 */
#ifndef GW_PKI_PKI_H
#define GW_PKI_PKI_H

#include "core/error.h"

typedef enum gw_pki_algorithm {
  GW_PKI_EC_P256 = 0, /* ECDSA P-256 with SHA-256 (the default) */
  GW_PKI_RSA_2048,    /* RSA-2048, PKCS#1 v1.5 with SHA-256 */
} gw_pki_algorithm;

#define GW_PKI_CA_DAYS 3650   /* roots and issuing CAs */
#define GW_PKI_LEAF_DAYS 730  /* leaves, unless told otherwise */
#define GW_PKI_CRL_DAYS 30    /* nextUpdate of every CRL made or re-signed */

typedef struct gw_pki_options {
  const char *countries;      /* "CN,TH" (case-insensitive, no repeats); NULL or "": all six */
  gw_pki_algorithm algorithm; /* of every key, CAs included */
  int leaf_days;              /* 1..GW_PKI_CA_DAYS (no leaf outlives its CA); 0: GW_PKI_LEAF_DAYS */
  int force;                  /* replace DIR when it holds a PKI made by gw_pki_init */
} gw_pki_options;

/* The layout above as plain text, for --help and DIR/README.txt (static). */
const char *gw_pki_layout_text(void);

/* "ec-p256" / "rsa-2048" (case-insensitive) -> the algorithm, or -1. */
int gw_pki_algorithm_parse(const char *name);
const char *gw_pki_algorithm_name(gw_pki_algorithm alg);

/* Makes the development PKI in dir (layout above). dir must not exist, or be
 * empty; with opt->force it may also be a PKI this function made before
 * (dir/README.txt says so), which is replaced; any other directory is refused
 * even with force, so a typo cannot delete someone's files. Everything is
 * built in a sibling dir.tmp-XXXXXX and renamed into place: on failure dir is
 * as it was and nothing is left behind. opt may be NULL (all defaults). */
int gw_pki_init(const char *dir, const gw_pki_options *opt, gw_error *err);

/* Adds the certificate in cert_file to the CRL in crl_file (PEM) and re-signs
 * the CRL with ca_key_file: lastUpdate now, nextUpdate GW_PKI_CRL_DAYS on,
 * CRL number one up. Checks first that the key is the CA certificate's, that
 * the CRL and the certificate were issued by that CA. The CRL file is
 * replaced atomically. When the serial is listed already nothing is written
 * and *already (if not NULL) is set to 1, else to 0. */
int gw_pki_revoke(const char *ca_key_file, const char *ca_cert_file, const char *crl_file, const char *cert_file,
                  int *already, gw_error *err);

#endif
