/* lmcgw — command-line entry point. The only place that decides the process's
 * exit status. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/formats_cli.h"
#include "cli/pki_cli.h"
#include "cli/status_cli.h"
#include "cli/trust_cli.h"
#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "adapters/registry.h"
#include "pipeline/xml.h"
#include "pki/devpki.h"
#include "serve/serve.h"

#ifdef LMCGW_JEMALLOC
/* jemalloc reads this at start (MALLOC_CONF in the environment still wins).
 * Pages freed are handed back to the kernel within a second, by a thread of
 * jemalloc's own, instead of its default 10 s of dirty and then muzzy
 * pages: 10,000 idle mutual-TLS connections hold ~60 MB less RSS once their
 * handshakes' buffers are gone, at no CPU cost measurable under load
 * (bench/README.md). */
const char *malloc_conf = "background_thread:true,max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

static void usage_main(FILE *out) {
  fprintf(out,
          "lmcgw %s — message gateway for cross-border customs single-window exchange\n"
          "\n"
          "Usage: lmcgw <command> [options]\n"
          "\n"
          "Commands:\n"
          "  serve          run the gateway (HTTPS ingest, validation, signing, Kafka)\n"
          "  validate       check messages as the gateway would (schemas, code lists, rules)\n"
          "  inspect        print a message's canonical model as JSON\n"
          "  translate      translate a message into another format or for a country\n"
          "  formats        list the formats, their schemas and which fields each carries\n"
          "  sign           add an enveloped XMLDSig signature to an XML document\n"
          "  verify         check XMLDSig signatures against a trust store directory\n"
          "  config check   check a configuration file and report every problem with its line\n"
          "  config keys    list every configuration key with its default\n"
          "  status         ask a running gateway where a shipment stands (UCR)\n"
          "  pki init       make a development PKI (CAs, CRLs, gateway and client certs)\n"
          "  pki revoke     add a certificate to a CA's CRL (for tests)\n"
          "  version        print the version and the libraries in use\n"
          "  help           this text; `lmcgw <command> --help` explains a command\n",
          LMCGW_VERSION);
}

static void usage_serve(FILE *out) {
  fprintf(out,
          "Usage: lmcgw serve (--config FILE | --dev) [options]\n"
          "\n"
          "Runs the gateway until SIGTERM or SIGINT (graceful: stops accepting, finishes\n"
          "what is in flight, flushes Kafka, exits 0; a second signal exits at once).\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE     YAML configuration (see examples/lmcgw.yaml)\n"
          "      --dev             embedded defaults, no file needed: plain HTTP on\n"
          "                        127.0.0.1:8080, librdkafka's in-process mock cluster,\n"
          "                        a development signing key created on first run,\n"
          "                        the project's schemas, country TH\n"
          "  -l, --listen ADDR:PORT  listen here instead of http.listen\n"
          "      --state-dir DIR   with --dev: where the dev key lives (default ./lmcgw-state)\n"
          "  -h, --help            this text\n"
          "\n"
          "Environment: LMCGW_<SECTION>_<KEY> overrides a key (LMCGW_HTTP_LISTEN=...),\n"
          "LMCGW_KAFKA_<KEY> sets a librdkafka property (LMCGW_KAFKA_BOOTSTRAP_SERVERS=...),\n"
          "LMCGW_DATA_DIR says where schemas/ is for --dev.\n");
}

static void usage_config(FILE *out) {
  fprintf(out,
          "Usage: lmcgw config check FILE   report every problem of FILE as FILE:LINE: key: message\n"
          "                                 (exit 0 when there is none, 1 otherwise)\n"
          "       lmcgw config keys         list every key with its default\n");
}

static int cmd_version(void) {
  printf("lmcgw %s\n", LMCGW_VERSION);
  return 0;
}

static int cmd_config(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage_config(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "keys")) {
    gw_config_print_keys(stdout);
    return 0;
  }
  if (strcmp(argv[1], "check") || argc != 3) {
    usage_config(stderr);
    return 2;
  }
  gw_config cfg;
  gw_config_diags d = {0};
  gw_error err = {0};
  int rc = gw_config_load(&cfg, argv[2], &d, &err);
  if (rc && d.n == 0) fprintf(stderr, "%s\n", err.msg);
  for (size_t i = 0; i < d.n; i++) {
    if (d.items[i].line > 0) fprintf(stderr, "%s:%ld: ", argv[2], d.items[i].line);
    else fprintf(stderr, "%s: ", argv[2]);
    fprintf(stderr, "%s%s%s\n", d.items[i].key, *d.items[i].key ? ": " : "", d.items[i].msg);
  }
  if (!rc) {
    /* Schemas are part of the configuration: prove they compile too. */
    gw_error xe = {0};
    gw_registry *r = NULL;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/schemas", gw_config_data_dir());
    if (gw_xml_global_init(&xe) || gw_registry_new(dir, &cfg, &r, &xe) || gw_registry_check_profiles(r, &cfg, &xe)) {
      fprintf(stderr, "%s: %s\n", argv[2], xe.msg);
      rc = 1;
    }
    if (!rc) printf("%s: ok (%zu format(s), %zu country profile(s), country %s)\n", argv[2], gw_registry_count(r),
                    cfg.n_countries, cfg.country);
    gw_registry_free(r);
  }
  gw_config_diags_free(&d);
  gw_config_free(&cfg);
  return rc ? 1 : 0;
}

static int cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"dev", no_argument, 0, 'd'},
                                       {"listen", required_argument, 0, 'l'}, {"state-dir", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  const char *config = NULL, *listen = NULL, *state_dir = NULL;
  int dev = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'd': dev = 1; break;
    case 'l': listen = optarg; break;
    case 's': state_dir = optarg; break;
    case 'h': usage_serve(stdout); return 0;
    default: usage_serve(stderr); return 2;
    }
  }
  if (optind < argc || (!config && !dev) || (config && dev)) {
    fprintf(stderr, "lmcgw serve: give either --config FILE or --dev\n\n");
    usage_serve(stderr);
    return 2;
  }
  gw_config cfg;
  gw_error err = {0};
  gw_config_diags d = {0};
  int rc;
  if (dev) {
    const char *sd = state_dir ? state_dir : "./lmcgw-state";
    rc = gw_config_dev(&cfg, gw_config_data_dir(), sd, &err);
    if (!rc) rc = gw_pki_dev_signer(cfg.state_dir, cfg.sign_key, cfg.sign_cert, cfg.country, &err);
    if (!rc) rc = gw_config_check(&cfg, &d, &err);
  } else {
    rc = gw_config_load(&cfg, config, &d, &err);
    /* A state dir the gateway cannot use is a start-up error, not a later surprise. */
    if (!rc && mkdir(cfg.state_dir, 0700) && errno != EEXIST)
      rc = GW_ERR(&err, GW_EIO, "cannot create gateway.state_dir %s: %s", cfg.state_dir, strerror(errno));
  }
  for (size_t i = 1; i < d.n; i++) /* the first is in err */
    fprintf(stderr, "lmcgw: config: %s: %s\n", d.items[i].key, d.items[i].msg);
  gw_config_diags_free(&d);
  if (!rc) rc = gw_xml_global_init(&err);
  if (!rc) {
    gw_serve_options so = {.listen = listen};
    rc = gw_serve_run(&cfg, &so, &err);
    if (rc == GW_ECANCELED) _exit(130); /* second signal: leave without waiting for anything */
  }
  if (rc) fprintf(stderr, "lmcgw: %s\n", err.msg);
  gw_config_free(&cfg);
  gw_xml_global_cleanup();
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage_main(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage_main(stdout);
    return 0;
  }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) return cmd_version();
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "config")) return cmd_config(argc - 1, argv + 1);
  if (!strcmp(cmd, "validate")) return gw_cli_validate(argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect")) return gw_cli_inspect(argc - 1, argv + 1);
  if (!strcmp(cmd, "translate")) return gw_cli_translate(argc - 1, argv + 1);
  if (!strcmp(cmd, "formats")) return gw_cli_formats(argc - 1, argv + 1);
  if (!strcmp(cmd, "pki")) return gw_cli_pki(argc - 1, argv + 1);
  if (!strcmp(cmd, "status")) return gw_cli_status(argc - 1, argv + 1);
  if (!strcmp(cmd, "sign")) return gw_cli_sign(argc - 1, argv + 1);
  if (!strcmp(cmd, "verify")) return gw_cli_verify(argc - 1, argv + 1);
  fprintf(stderr, "lmcgw: unknown command '%s'\n\n", cmd);
  usage_main(stderr);
  return 2;
}
