/* lmcgw — the development signing key and certificate that `lmcgw serve --dev`
 * creates on first run, with OpenSSL's API (no shelling out). Not for
 * production: each agency brings its own PKI. */
#ifndef GW_PKI_DEVPKI_H
#define GW_PKI_DEVPKI_H

#include "core/error.h"

/* Creates an EC P-256 key (mode 0600) and a self-signed certificate with the
 * digitalSignature key usage for country CC at the given paths, unless both
 * files exist already. Creates the parent directory when missing. */
int gw_pki_dev_signer(const char *dir, const char *key_file, const char *cert_file, const char *country,
                      gw_error *err);

#endif
