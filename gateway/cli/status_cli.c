/* lmcgw — status (see status_cli.h). */
#include "cli/status_cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/client.h"

static void usage(FILE *out) {
  fprintf(out,
          "Usage: lmcgw status [--url URL] [--ca FILE] [--cert FILE --key FILE] [--json] UCR\n"
          "\n"
          "Asks a running gateway where the shipment UCR stands: its status (for\n"
          "example READY_FOR_CLEARANCE), its documents, what is still missing before\n"
          "release, the time since its first document arrived, and its timeline.\n"
          "\n"
          "Options:\n"
          "      --url URL     the gateway (default https://127.0.0.1:8443; http:// for a\n"
          "                    gateway on plain HTTP, such as `serve --dev`)\n"
          "      --ca FILE     CA bundle that verifies the gateway's certificate (https)\n"
          "      --cert FILE   client certificate (PEM): who is asking decides what may be\n"
          "      --key FILE    read (inspectors: their country; traders: their own)\n"
          "      --json        print the gateway's JSON answer as it is\n"
          "  -h, --help        this text\n"
          "\n"
          "Exit status: 0 the shipment was found, 1 not found or not permitted (the\n"
          "reason is printed), 2 on a usage error or when the gateway cannot be reached.\n");
}

static const char *str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void print_elapsed(long long s) {
  if (s >= 86400) printf("%lldd %lldh", s / 86400, s % 86400 / 3600);
  else if (s >= 3600) printf("%lldh %lldm", s / 3600, s % 3600 / 60);
  else if (s >= 60) printf("%lldm %llds", s / 60, s % 60);
  else printf("%llds", s);
}

static void print_shipment(json_t *o) {
  printf("Shipment %s: %s -> %s%s\n", str(o, "ucr"), str(o, "origin"), str(o, "destination"),
         json_is_true(json_object_get(o, "perishable")) ? " (perishable)" : "");
  printf("Status:  %s\n", str(o, "status"));
  printf("Since the first document: ");
  print_elapsed((long long)json_integer_value(json_object_get(o, "elapsed_s")));
  printf(" (first %s, last update %s)\n", str(o, "first_seen"), str(o, "last_update"));
  json_t *docs = json_object_get(o, "documents"), *d;
  size_t i;
  printf("\nDocuments:\n");
  if (!json_array_size(docs)) printf("  (none)\n");
  json_array_foreach(docs, i, d) {
    printf("  %-20s %-28s %-16s %s, %s  %s\n", str(d, "type"), str(d, "number"), str(d, "status"),
           json_is_true(json_object_get(d, "valid")) ? "valid" : "not valid",
           json_is_true(json_object_get(d, "signed")) ? "signed" : "not signed", str(d, "at"));
  }
  json_t *miss = json_object_get(o, "missing");
  printf("\nMissing before release:\n");
  if (!json_array_size(miss)) printf("  nothing\n");
  json_array_foreach(miss, i, d) {
    const char *num = str(d, "number");
    printf("  %s%s%s: %s\n", str(d, "type"), *num ? " " : "", num, str(d, "why"));
  }
  json_t *tl = json_object_get(o, "timeline");
  printf("\nTimeline:\n");
  json_array_foreach(tl, i, d) {
    const char *detail = str(d, "detail");
    printf("  %s  %-20s %-20s %s%s%s\n", str(d, "at"), str(d, "stage"), str(d, "document_type"), str(d, "gateway"),
           *detail ? "  " : "", detail);
  }
}

static int hexval_ok(int c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

int gw_cli_status(int argc, char **argv) {
  static const struct option opts[] = {{"url", required_argument, NULL, 'u'}, {"ca", required_argument, NULL, 'a'},
                                       {"cert", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
                                       {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *url = "https://127.0.0.1:8443", *ca = NULL, *cert = NULL, *key = NULL;
  int json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'u': url = optarg; break;
    case 'a': ca = optarg; break;
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'j': json = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1 || !!cert != !!key) {
    fprintf(stderr, "lmcgw status: give one UCR%s\n\n", !!cert != !!key ? ", and --cert with --key" : "");
    usage(stderr);
    return 2;
  }
  const char *ucr = argv[optind];
  /* The UCR goes into the path: everything but letters and digits escaped. */
  char path[1024];
  size_t n = (size_t)snprintf(path, sizeof(path), "/v1/shipments/");
  for (const char *p = ucr; *p && n + 4 < sizeof(path); p++)
    n += (size_t)(hexval_ok((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_'
                      ? snprintf(path + n, sizeof(path) - n, "%c", *p)
                      : snprintf(path + n, sizeof(path) - n, "%%%02X", (unsigned char)*p));
  gw_delivery_client_config cc = {.url = url, .allow_http = 1, .ca_file = ca, .cert_file = cert, .key_file = key,
                                  .timeout_ms = 10000, .max_body = 4u << 20, .cancel_fd = -1};
  gw_delivery_client *cl = NULL;
  gw_delivery_response r;
  gw_error err = {0};
  if (gw_delivery_client_new(&cc, &cl, &err) || gw_delivery_client_get(cl, path, &r, &err)) {
    fprintf(stderr, "lmcgw status: %s\n", err.msg);
    gw_delivery_client_free(cl);
    return 2;
  }
  gw_delivery_client_free(cl);
  int rc = r.status == 200 ? 0 : r.status == 404 || r.status == 401 || r.status == 403 ? 1 : 2;
  json_t *o = r.body ? json_loads(r.body, 0, NULL) : NULL;
  if (json || !o) {
    printf("%s\n", r.body ? r.body : "");
  } else if (r.status == 200) {
    print_shipment(o);
  } else {
    json_t *e = json_array_get(json_object_get(o, "errors"), 0);
    fprintf(stderr, "lmcgw status: %d %s: %s\n", r.status, str(e, "code"), str(e, "message"));
  }
  json_decref(o);
  gw_delivery_response_free(&r);
  return rc;
}
