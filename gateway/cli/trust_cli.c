/* lmcgw — sign and verify (see trust_cli.h). */
#include "cli/trust_cli.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/xmlsave.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/sign.h"
#include "pipeline/xml.h"
#include "trust/trust.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) break;
    char *g = realloc(b, cap *= 2);
    if (!g) free(b);
    b = g;
  }
  int bad = ferror(f);
  if (f != stdin) fclose(f);
  if (bad) {
    free(b);
    return NULL;
  }
  *len = n;
  return b;
}

/* Reads and parses with the gateway's hardened parser; prints why not. */
static xmlDocPtr load_doc(const char *file, FILE *diag, char *why, size_t cap) {
  size_t len = 0;
  char *data = slurp(file, &len);
  if (!data) {
    snprintf(why, cap, "cannot read the file");
    return NULL;
  }
  xmlDocPtr doc = NULL;
  gw_problems p = {0};
  if (gw_xml_parse(data, len, &doc, &p)) {
    if (p.n) snprintf(why, cap, "not well-formed XML: line %ld: %s", p.items[0].line, p.items[0].message);
    else snprintf(why, cap, "not well-formed XML");
    /* libxml2 messages end with a newline; one line per file. */
    for (char *q = why; *q; q++)
      if (*q == '\n') *q = ' ';
    doc = NULL;
  }
  (void)diag;
  gw_problems_free(&p);
  free(data);
  return doc;
}

int gw_cli_parse_time(const char *s, time_t *out) {
  struct tm tm = {0};
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
  const char *p = s + n;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    int m = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5) return -1;
    p += 1 + m;
    if (*p == ':') {
      if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) return -1;
      sec = (p[1] - '0') * 10 + (p[2] - '0');
      p += 3;
      if (*p == '.') /* fractions of a second are ignored */
        for (p++; isdigit((unsigned char)*p); p++) {}
    }
  }
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om, m = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59) return -1;
    off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 1 + m;
  }
  if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
  time_t t = timegm(&tm);
  if (t == (time_t)-1) return -1;
  *out = t - off;
  return 0;
}

/* ---- sign ------------------------------------------------------------------- */

static void usage_sign(FILE *out) {
  fprintf(out,
          "Usage: lmcgw sign --key KEY --cert CERT [--algorithm ALG] [-o OUT] FILE\n"
          "\n"
          "Adds an enveloped XMLDSig signature to the XML document FILE (\"-\" = stdin),\n"
          "as the gateway signs what it sends: exclusive C14N, SHA-256 digest over the\n"
          "whole document (URI=\"\"), the certificate in KeyInfo/X509Data, the\n"
          "ds:Signature as the last child of the document element. The signed document\n"
          "goes to stdout, or to OUT.\n"
          "\n"
          "  -k, --key KEY          unencrypted PEM private key (EC P-256 or RSA >= 2048)\n"
          "  -c, --cert CERT        PEM certificate of that key\n"
          "  -a, --algorithm ALG    ecdsa-p256 or rsa-2048 (ECDSA/RSA with SHA-256);\n"
          "                         default: from the key's type\n"
          "  -o, --output OUT       write the signed document here instead of stdout\n"
          "  -h, --help             this text\n"
          "Exit status 0 when signed, 1 when the key, certificate or document is unusable,\n"
          "2 on a usage error.\n");
}

static const char *algorithm_of_key(const char *key_file) {
  FILE *f = fopen(key_file, "rb");
  if (!f) return NULL;
  EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  const char *a = !pk ? NULL : EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? "rsa-2048" : "ecdsa-p256";
  EVP_PKEY_free(pk);
  return a;
}

int gw_cli_sign(int argc, char **argv) {
  static const struct option opts[] = {{"key", required_argument, 0, 'k'},       {"cert", required_argument, 0, 'c'},
                                       {"algorithm", required_argument, 0, 'a'}, {"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  const char *key = NULL, *cert = NULL, *alg = NULL, *out = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "k:c:a:o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'k': key = optarg; break;
    case 'c': cert = optarg; break;
    case 'a': alg = optarg; break;
    case 'o': out = optarg; break;
    case 'h': usage_sign(stdout); return 0;
    default: usage_sign(stderr); return 2;
    }
  }
  if (!key || !cert || optind != argc - 1) {
    fprintf(stderr, "lmcgw sign: give --key, --cert and one FILE\n\n");
    usage_sign(stderr);
    return 2;
  }
  if (alg && strcmp(alg, "ecdsa-p256") && strcmp(alg, "rsa-2048")) {
    fprintf(stderr, "lmcgw sign: --algorithm is ecdsa-p256 or rsa-2048, not '%s'\n", alg);
    return 2;
  }
  const char *file = argv[optind];
  gw_error err = {0};
  if (gw_xml_global_init(&err)) {
    fprintf(stderr, "lmcgw sign: %s\n", err.msg);
    return 1;
  }
  if (!alg) alg = algorithm_of_key(key);
  if (!alg) {
    fprintf(stderr, "lmcgw sign: %s is not a readable unencrypted PEM private key\n", key);
    return 1;
  }
  gw_signer *s = NULL;
  if (gw_signer_load(&s, key, cert, alg, &err)) {
    fprintf(stderr, "lmcgw sign: %s\n", err.msg);
    return 1;
  }
  char why[600];
  xmlDocPtr doc = load_doc(file, stderr, why, sizeof(why));
  int rc = 0;
  if (!doc) {
    fprintf(stderr, "%s: %s\n", file, why);
    rc = 1;
  } else if (gw_signer_sign(s, doc, &err)) {
    fprintf(stderr, "%s: %s\n", file, err.msg);
    rc = 1;
  } else {
    /* Written as parsed, without reformatting: whitespace is signed too. */
    xmlSaveCtxtPtr sc = out ? xmlSaveToFilename(out, "UTF-8", 0) : xmlSaveToFd(1, "UTF-8", 0);
    if (!sc || xmlSaveDoc(sc, doc) < 0) rc = 1;
    if (sc && xmlSaveClose(sc) < 0) rc = 1;
    if (rc) fprintf(stderr, "lmcgw sign: cannot write %s\n", out ? out : "stdout");
  }
  xmlFreeDoc(doc);
  gw_signer_free(s);
  return rc;
}

/* ---- verify ----------------------------------------------------------------- */

static void usage_verify(FILE *out) {
  fprintf(out,
          "Usage: lmcgw verify --trust DIR [options] FILE...\n"
          "\n"
          "Verifies the XMLDSig signature of each XML document as the gateway does on\n"
          "receipt, and prints one line per file:\n"
          "  FILE: valid: signer SUBJECT (ALGORITHM, chain ISSUER <- ... )\n"
          "  FILE: invalid: CODE: reason\n"
          "CODE is one of not_signed, malformed_signature, wrapping, algorithm_refused,\n"
          "digest_mismatch, signature_invalid, untrusted, expired, not_yet_valid,\n"
          "revoked, key_usage, wrong_country (or not_well_formed when FILE is not XML).\n"
          "\n"
          "  -t, --trust DIR        trust store: *.pem/*.crt/*.cer/*.der certificates\n"
          "                         (self-signed ones are the anchors, the others only\n"
          "                         build chains) and *.crl revocation lists\n"
          "  -C, --country CC       the signer's certificate must have subject C=CC\n"
          "      --at TIME          check certificates at TIME (ISO 8601, e.g.\n"
          "                         2026-06-01 or 2026-06-01T08:00:00+07:00; no zone =\n"
          "                         UTC) instead of now\n"
          "      --crl-policy P     soft (default): a CA without a CRL in DIR is not\n"
          "                         checked for revocation; hard: such a chain is refused\n"
          "      --allow-enveloping accept an enveloping signature (document element\n"
          "                         ds:Signature, content in the ds:Object it references)\n"
          "      --json             one JSON array on stdout instead of lines\n"
          "  -h, --help             this text\n"
          "Exit status 0 when every file is valid, 1 when any is not, 2 on a usage\n"
          "error or an unusable trust store.\n");
}

static void print_line(const char *file, const char *code, const gw_trust_result *r) {
  if (r->status != GW_TRUST_OK) {
    printf("%s: invalid: %s: %s\n", file, code, r->message);
    return;
  }
  printf("%s: valid: signer %s (%s, chain", file, r->signer, r->sig_alg);
  for (size_t i = 0; i < r->chain_len; i++) printf("%s%s", i ? " <- " : " ", r->chain[i]);
  if (!r->chain_len) printf(" (anchor itself)");
  printf(")\n");
}

static json_t *result_json(const char *file, const char *code, const gw_trust_result *r) {
  json_t *chain = json_array();
  for (size_t i = 0; i < r->chain_len; i++) json_array_append_new(chain, json_string(r->chain[i]));
  json_t *o = json_pack("{s:s, s:b, s:s, s:b, s:s}", "file", file, "valid", r->status == GW_TRUST_OK, "status",
                        code, "signature_valid", r->signature_valid, "message", r->message);
  if (!o) {
    json_decref(chain);
    return NULL;
  }
  json_object_set_new(o, "signer", json_string(r->signer));
  json_object_set_new(o, "signer_country", json_string(r->signer_country));
  json_object_set_new(o, "chain", chain);
  json_object_set_new(o, "signature_algorithm", json_string(r->sig_alg_uri));
  json_object_set_new(o, "digest_algorithm", json_string(r->digest_alg_uri));
  json_object_set_new(o, "canonicalization", json_string(r->c14n_alg));
  if (r->covered) json_object_set_new(o, "covered", json_string((const char *)r->covered->name));
  return o;
}

int gw_cli_verify(int argc, char **argv) {
  static const struct option opts[] = {{"trust", required_argument, 0, 't'},     {"country", required_argument, 0, 'C'},
                                       {"at", required_argument, 0, 'A'},        {"crl-policy", required_argument, 0, 'P'},
                                       {"allow-enveloping", no_argument, 0, 'E'}, {"json", no_argument, 0, 'j'},
                                       {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  const char *trust = NULL;
  gw_trust_opts to = {0};
  int as_json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:C:h", opts, NULL)) != -1) {
    switch (c) {
    case 't': trust = optarg; break;
    case 'C':
      if (strlen(optarg) != 2 || !isalpha((unsigned char)optarg[0]) || !isalpha((unsigned char)optarg[1])) {
        fprintf(stderr, "lmcgw verify: --country is a two-letter code (VN, TH...), not '%s'\n", optarg);
        return 2;
      }
      to.country = optarg;
      break;
    case 'A':
      if (gw_cli_parse_time(optarg, &to.at)) {
        fprintf(stderr, "lmcgw verify: --at '%s' is not an ISO 8601 date or date-time\n", optarg);
        return 2;
      }
      break;
    case 'P':
      if (gw_trust_crl_policy_parse(optarg, &to.crl_policy)) {
        fprintf(stderr, "lmcgw verify: --crl-policy is soft or hard, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 'E': to.allow_enveloping = 1; break;
    case 'j': as_json = 1; break;
    case 'h': usage_verify(stdout); return 0;
    default: usage_verify(stderr); return 2;
    }
  }
  if (!trust || optind >= argc) {
    fprintf(stderr, "lmcgw verify: give --trust DIR and at least one FILE\n\n");
    usage_verify(stderr);
    return 2;
  }
  gw_error err = {0};
  gw_trust_store *ts = NULL;
  if (gw_xml_global_init(&err) || gw_trust_store_load(&ts, trust, &err)) {
    fprintf(stderr, "lmcgw verify: %s\n", err.msg);
    return 2;
  }
  json_t *report = as_json ? json_array() : NULL;
  int bad = 0;
  for (int i = optind; i < argc; i++) {
    const char *file = argv[i];
    gw_trust_result r;
    memset(&r, 0, sizeof(r));
    char why[600];
    xmlDocPtr doc = load_doc(file, stderr, why, sizeof(why));
    if (!doc) {
      r.status = GW_TRUST_MALFORMED;
      snprintf(r.message, sizeof(r.message), "%s", why);
    } else {
      gw_error ve = {0};
      gw_trust_verify_doc(ts, doc, &to, &r, &ve);
    }
    if (r.status != GW_TRUST_OK) bad = 1;
    /* Not a signature problem: the file could not be read as XML at all. */
    const char *code = doc ? gw_trust_status_code(r.status) : "not_well_formed";
    if (report) json_array_append_new(report, result_json(file, code, &r));
    else print_line(file, code, &r);
    xmlFreeDoc(doc);
  }
  if (report) {
    char *s = json_dumps(report, JSON_INDENT(2));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(report);
  }
  gw_trust_store_free(ts);
  return bad ? 1 : 0;
}
