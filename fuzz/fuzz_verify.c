/* libFuzzer target: signature verification of received documents — the
 * hardened XML parser, then gw_trust_verify_doc (structure and wrapping
 * checks, algorithm policy, xmlsec, the certificate chain) against a small
 * trust store. The store holds one test anchor, made for this fuzzer with
 * throw-away keys; the seeds in corpus/verify are signed by leaves of it, so
 * mutations start from documents that get as far as the chain check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/xml.h"
#include "trust/trust.h"

static const char anchor_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB4DCCAYWgAwIBAgIURqt4PbcqYXu/FGsLG/wZXGPguqEwCgYIKoZIzj0EAwIw\n"
    "PDELMAkGA1UEBhMCVk4xEzARBgNVBAoMCmxtY2d3IGZ1enoxGDAWBgNVBAMMD2xt\n"
    "Y2d3IGZ1enogcm9vdDAgFw0yNjExMjkwNDEzNDBaGA8yMTI2MTEwNTA0MTM0MFow\n"
    "PDELMAkGA1UEBhMCVk4xEzARBgNVBAoMCmxtY2d3IGZ1enoxGDAWBgNVBAMMD2xt\n"
    "Y2d3IGZ1enogcm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCpjzaRIKtpn\n"
    "Jn+eD9MGLC8KsoxVW+wYesF9uwCwZTXe0FFhSCU2Pgd3dBZ2NfpDgrQQrfMAtnW0\n"
    "kodhWEvO1MWjYzBhMB0GA1UdDgQWBBQqYdCs3e0lDb3XLLVL4JunhlAT+zAfBgNV\n"
    "HSMEGDAWgBQqYdCs3e0lDb3XLLVL4JunhlAT+zAPBgNVHRMBAf8EBTADAQH/MA4G\n"
    "A1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNJADBGAiEAjO/9mUo0p5rz+vH48ki8\n"
    "GfqCnNVWsvTdPMz08RrjdVcCIQC/sgQxCFTFAQSL4ZOsR7BLnrqR9Rui00Rv1gVD\n"
    "TSfyog==\n"
    "-----END CERTIFICATE-----\n";

static gw_trust_store *store;

static gw_trust_store *load_store(void) {
  char dir[] = "/tmp/lmcgw-fuzz-verify-XXXXXX";
  if (!mkdtemp(dir)) abort();
  char path[sizeof(dir) + 16];
  snprintf(path, sizeof(path), "%s/anchor.pem", dir);
  FILE *f = fopen(path, "wb");
  if (!f || fputs(anchor_pem, f) < 0 || fclose(f)) abort();
  gw_trust_store *ts = NULL;
  gw_error err = {0};
  if (gw_trust_store_load(&ts, dir, &err)) abort();
  unlink(path);
  rmdir(dir);
  return ts;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  gw_error err = {0};
  if (gw_xml_global_init(&err)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!store) store = load_store(); /* built at the first call */
  xmlDocPtr doc = NULL;
  gw_problems p = {0};
  if (gw_xml_parse((const char *)data, size, &doc, &p) == 0) {
    /* A fixed time inside the anchor's validity keeps runs reproducible. */
    gw_trust_opts o = {.at = 1893456000 /* 2030-01-01 */, .country = "VN"};
    gw_trust_result r;
    gw_error err = {0};
    gw_trust_verify_doc(store, doc, &o, &r, &err);
    if (r.status == GW_TRUST_WRAPPING) {
      o.allow_enveloping = 1;
      gw_trust_verify_doc(store, doc, &o, &r, &err);
    }
    xmlFreeDoc(doc);
  }
  gw_problems_free(&p);
  return 0;
}
