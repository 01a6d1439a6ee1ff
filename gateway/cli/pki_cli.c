/* lmcgw — pki init, pki revoke (see pki_cli.h). */
#include "cli/pki_cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki.h"

static void usage_pki(FILE *out) {
  fprintf(out,
          "Usage: lmcgw pki init [options] DIR     make a development PKI for the six countries\n"
          "       lmcgw pki revoke [options] CERT  add a certificate to its CA's CRL\n"
          "`lmcgw pki <command> --help` explains each.\n");
}

static void usage_init(FILE *out) {
  fprintf(out,
          "Usage: lmcgw pki init [--countries CN,TH,...] [--algorithm ALG] [--days N] [--force] DIR\n"
          "\n"
          "Makes a development PKI in DIR, for tests and demonstrations only (the keys\n"
          "are not encrypted). Each country gets a root CA (valid %d days), an issuing\n"
          "CA per agency (customs, plant-protection, animal-health; pathlen 0) with an\n"
          "empty CRL (next update in %d days), and leaf certificates for the gateway\n"
          "and its clients. Everything is built in DIR.tmp-XXXXXX and renamed to DIR at\n"
          "the end: a failure leaves nothing behind.\n"
          "\n"
          "Options:\n"
          "      --countries LIST  comma-separated country codes out of CN, KH, LA, MM,\n"
          "                        TH, VN (default: all six)\n"
          "      --algorithm ALG   ec-p256 (default) or rsa-2048, for every key\n"
          "      --days N          validity of the leaf certificates in days, 1..%d\n"
          "                        (default %d); CAs are always valid %d days\n"
          "      --force           replace DIR when it holds a PKI made by this command\n"
          "                        (DIR/README.txt says so); without it a DIR that is\n"
          "                        not empty is refused. Other folders are never replaced.\n"
          "  -h, --help            this text\n"
          "\n"
          "Layout of DIR:\n"
          "%s"
          "\n"
          "Example: lmcgw pki init --countries TH,VN ./dev-pki\n"
          "  then tls.cert: dev-pki/TH/certs/gateway-tls-chain.pem,\n"
          "       tls.key: dev-pki/TH/keys/gateway-tls.key,\n"
          "       tls.client_ca: dev-pki/ca-bundle.pem, and copy dev-pki/CC/trust/* to certs/CC/.\n",
          GW_PKI_CA_DAYS, GW_PKI_CRL_DAYS, GW_PKI_CA_DAYS, GW_PKI_LEAF_DAYS, GW_PKI_CA_DAYS, gw_pki_layout_text());
}

static void usage_revoke(FILE *out) {
  fprintf(out,
          "Usage: lmcgw pki revoke --ca-key KEY --ca-cert CERT --crl CRL CERT\n"
          "\n"
          "Adds CERT's serial number to CRL and signs the CRL again with KEY: last update\n"
          "now, next update in %d days, CRL number one up. KEY must be CERT's issuing CA's\n"
          "key, and CRL that CA's. The CRL file is replaced atomically. Revoking a\n"
          "certificate that is listed already changes nothing (exit status 0).\n"
          "\n"
          "Options:\n"
          "      --ca-key KEY    the issuing CA's private key (PEM), e.g. DIR/TH/keys/customs-ca.key\n"
          "      --ca-cert CERT  the issuing CA's certificate, e.g. DIR/TH/trust/customs-ca.pem\n"
          "      --crl CRL       the CA's CRL (PEM), e.g. DIR/TH/trust/customs-ca.crl\n"
          "  -h, --help          this text\n",
          GW_PKI_CRL_DAYS);
}

static int cmd_init(int argc, char **argv) {
  enum { O_COUNTRIES = 1000, O_ALG, O_DAYS, O_FORCE };
  static const struct option opts[] = {{"countries", required_argument, 0, O_COUNTRIES},
                                       {"algorithm", required_argument, 0, O_ALG},
                                       {"days", required_argument, 0, O_DAYS},
                                       {"force", no_argument, 0, O_FORCE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  gw_pki_options o = {0};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_COUNTRIES: o.countries = optarg; break;
    case O_ALG: {
      int a = gw_pki_algorithm_parse(optarg);
      if (a < 0) {
        fprintf(stderr, "lmcgw pki init: --algorithm: '%s' is neither ec-p256 nor rsa-2048\n", optarg);
        return 2;
      }
      o.algorithm = (gw_pki_algorithm)a;
      break;
    }
    case O_DAYS: {
      char *end;
      long d = strtol(optarg, &end, 10);
      if (!*optarg || *end || d < 1 || d > GW_PKI_CA_DAYS) {
        fprintf(stderr, "lmcgw pki init: --days: '%s' is not a number of days from 1 to %d\n", optarg,
                GW_PKI_CA_DAYS);
        return 2;
      }
      o.leaf_days = (int)d;
      break;
    }
    case O_FORCE: o.force = 1; break;
    case 'h': usage_init(stdout); return 0;
    default: usage_init(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "lmcgw pki init: give one directory\n\n");
    usage_init(stderr);
    return 2;
  }
  const char *dir = argv[optind];
  gw_error err = {0};
  if (gw_pki_init(dir, &o, &err)) {
    fprintf(stderr, "lmcgw pki init: %s\n", err.msg);
    return 1;
  }
  printf("lmcgw pki init: made a development PKI (%s) in %s; its README.txt lists what is there\n",
         gw_pki_algorithm_name(o.algorithm), dir);
  return 0;
}

static int cmd_revoke(int argc, char **argv) {
  enum { O_KEY = 1000, O_CERT, O_CRL };
  static const struct option opts[] = {{"ca-key", required_argument, 0, O_KEY},
                                       {"ca-cert", required_argument, 0, O_CERT},
                                       {"crl", required_argument, 0, O_CRL},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *key = NULL, *cert = NULL, *crl = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_KEY: key = optarg; break;
    case O_CERT: cert = optarg; break;
    case O_CRL: crl = optarg; break;
    case 'h': usage_revoke(stdout); return 0;
    default: usage_revoke(stderr); return 2;
    }
  }
  if (optind != argc - 1 || !key || !cert || !crl) {
    fprintf(stderr, "lmcgw pki revoke: give --ca-key, --ca-cert, --crl and one certificate\n\n");
    usage_revoke(stderr);
    return 2;
  }
  gw_error err = {0};
  int already = 0;
  if (gw_pki_revoke(key, cert, crl, argv[optind], &already, &err)) {
    fprintf(stderr, "lmcgw pki revoke: %s\n", err.msg);
    return 1;
  }
  printf("lmcgw pki revoke: %s %s %s\n", argv[optind], already ? "was already listed in" : "revoked in", crl);
  return 0;
}

int gw_cli_pki(int argc, char **argv) {
  if (argc < 2) {
    usage_pki(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage_pki(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "init")) return cmd_init(argc - 1, argv + 1);
  if (!strcmp(argv[1], "revoke")) return cmd_revoke(argc - 1, argv + 1);
  fprintf(stderr, "lmcgw pki: unknown command '%s'\n\n", argv[1]);
  usage_pki(stderr);
  return 2;
}
