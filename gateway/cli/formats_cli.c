/* lmcgw — validate, inspect, translate, formats (see formats_cli.h). */
#include "cli/formats_cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/registry.h"
#include "config/config.h"
#include "model/json.h"
#include "pipeline/check.h"
#include "pipeline/xml.h"

/* What every command shares: the configuration (a file or the defaults) and
 * the registry of formats it implies. */
typedef struct cli_env {
  gw_config cfg;
  gw_registry *reg;
} cli_env;

static int env_open(cli_env *e, const char *config) {
  gw_error err = {0};
  memset(e, 0, sizeof(*e));
  int rc = config ? gw_config_load(&e->cfg, config, NULL, &err) : gw_config_defaults(&e->cfg, gw_config_data_dir(), &err);
  if (!rc) rc = gw_xml_global_init(&err);
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/schemas", gw_config_data_dir());
  if (!rc) rc = gw_registry_new(dir, &e->cfg, &e->reg, &err);
  if (rc) {
    fprintf(stderr, "lmcgw: %s\n", err.msg);
    gw_config_free(&e->cfg);
    return rc;
  }
  return 0;
}

static void env_close(cli_env *e) {
  gw_registry_free(e->reg);
  gw_config_free(&e->cfg);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (n < cap) break;
    char *g = realloc(b, cap *= 2);
    if (!g) {
      free(b);
      b = NULL;
    } else {
      b = g;
    }
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

static int has_error(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].severity, "error")) return 1;
  return 0;
}

static void print_problems(FILE *out, const char *file, const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++) {
    const gw_problem *x = &p->items[i];
    fprintf(out, "%s:%ld: %s: %s [%s%s%s]\n", file, x->line, x->severity, x->message, x->code, x->path[0] ? " at " : "",
            x->path);
  }
  if (p->dropped) fprintf(out, "%s: info: %zu more problems not shown\n", file, p->dropped);
}

/* ---- validate -------------------------------------------------------------- */

static void usage_validate(FILE *out) {
  fprintf(out,
          "Usage: lmcgw validate [--format F] [--json] [--config FILE] FILE...\n"
          "\n"
          "Checks each message as the gateway would on receipt: well-formed, valid\n"
          "against its format's schema, decoded, then code lists and business rules.\n"
          "Prints one line per problem as FILE:LINE: severity: message [code at path].\n"
          "Exit status 0 when every file is valid (warnings allowed), 1 when any is not.\n"
          "\n"
          "  -f, --format F    read every file as format F (name or media type) instead\n"
          "                    of recognising it (see `lmcgw formats`)\n"
          "      --json        one JSON report on stdout instead of lines\n"
          "  -c, --config FILE use this configuration's adapters and schemas\n"
          "  -q, --quiet       no progress bar\n"
          "  -h, --help        this text\n"
          "A progress bar goes to stderr when it is a terminal and there are 10 files or more.\n");
}

int gw_cli_validate(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"json", no_argument, 0, 'j'},
                                       {"config", required_argument, 0, 'c'}, {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  const char *format = NULL, *config = NULL;
  int as_json = 0, quiet = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:c:qh", opts, NULL)) != -1) {
    switch (c) {
    case 'f': format = optarg; break;
    case 'j': as_json = 1; break;
    case 'c': config = optarg; break;
    case 'q': quiet = 1; break;
    case 'h': usage_validate(stdout); return 0;
    default: usage_validate(stderr); return 2;
    }
  }
  if (optind >= argc) {
    usage_validate(stderr);
    return 2;
  }
  cli_env e;
  if (env_open(&e, config)) return 1;
  int nfiles = argc - optind, bad = 0;
  int bar = !quiet && !as_json && nfiles >= 10 && isatty(2);
  json_t *report = as_json ? json_array() : NULL;
  for (int i = optind; i < argc; i++) {
    const char *file = argv[i];
    gw_problems p = {0};
    gw_decoded d = {0};
    size_t len = 0;
    char *data = read_file(file, &len);
    if (!data) {
      gw_problems_add(&p, "unreadable", "error", 0, "", "cannot read the file");
    } else if (!gw_registry_decode(e.reg, data, len, format, &d, &p)) {
      gw_check_message(&d.model, &p);
    }
    int invalid = has_error(&p);
    bad |= invalid;
    if (report) {
      char *pj = gw_problems_json(&p, NULL);
      json_t *o = json_pack("{s:s, s:b, s:s?, s:s?}", "file", file, "valid", !invalid, "format",
                            d.adapter ? d.adapter->name : NULL, "kind", d.kind);
      json_t *pr = pj ? json_loads(pj, 0, NULL) : NULL;
      json_object_set(o, "problems", pr ? json_object_get(pr, "errors") : json_array());
      json_decref(pr);
      free(pj);
      json_array_append_new(report, o);
    } else {
      if (bar) fprintf(stderr, "\r\033[K");
      print_problems(stdout, file, &p);
      if (bar) {
        int done = i - optind + 1, w = 40, fill = done * w / nfiles;
        fprintf(stderr, "\r[%.*s%*s] %d/%d %s", fill, "########################################", w - fill, "", done,
                nfiles, bad ? "(some invalid)" : "");
        fflush(stderr);
      }
    }
    gw_decoded_free(&d);
    gw_problems_free(&p);
    free(data);
  }
  if (bar) fprintf(stderr, "\n");
  if (report) {
    char *s = json_dumps(report, JSON_INDENT(2));
    if (s) puts(s);
    free(s);
    json_decref(report);
  }
  env_close(&e);
  return bad ? 1 : 0;
}

/* ---- inspect --------------------------------------------------------------- */

static void usage_inspect(FILE *out) {
  fprintf(out,
          "Usage: lmcgw inspect [--format F] [--config FILE] FILE\n"
          "\n"
          "Decodes FILE (any format, recognised or named with --format) and prints its\n"
          "canonical model as JSON on stdout; problems go to stderr. Exit 1 when the\n"
          "message cannot be read or has errors.\n");
}

int gw_cli_inspect(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  const char *format = NULL, *config = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'f': format = optarg; break;
    case 'c': config = optarg; break;
    case 'h': usage_inspect(stdout); return 0;
    default: usage_inspect(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    usage_inspect(stderr);
    return 2;
  }
  cli_env e;
  if (env_open(&e, config)) return 1;
  const char *file = argv[optind];
  gw_problems p = {0};
  gw_decoded d = {0};
  size_t len = 0;
  char *data = read_file(file, &len);
  int rc = 1;
  if (!data) {
    fprintf(stderr, "%s: cannot read the file\n", file);
  } else if (!gw_registry_decode(e.reg, data, len, format, &d, &p)) {
    gw_check_message(&d.model, &p);
    char *s = gw_model_to_json(&d.model, 1);
    if (s) puts(s);
    free(s);
    rc = has_error(&p);
  }
  print_problems(stderr, file, &p);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  free(data);
  env_close(&e);
  return rc;
}

/* ---- translate ------------------------------------------------------------- */

static void usage_translate(FILE *out) {
  fprintf(out,
          "Usage: lmcgw translate (--to FORMAT | --country CC) [--format F] [--config FILE] FILE\n"
          "\n"
          "Decodes FILE with its format's adapter and encodes it with the target's,\n"
          "the way the gateway translates for a destination. The result goes to stdout\n"
          "(unsigned; signing is the gateway's job); problems, including every field the\n"
          "target format cannot carry (lossy_field warnings), go to stderr.\n"
          "\n"
          "  -t, --to FORMAT   target format (see `lmcgw formats`)\n"
          "      --country CC  target the format CC's national systems receive for this\n"
          "                    kind of document (country profiles in the config)\n"
          "  -f, --format F    read FILE as format F instead of recognising it\n"
          "  -c, --config FILE configuration with adapters and country profiles\n"
          "Exit status 0 on success (warnings allowed), 1 when it cannot be translated.\n");
}

int gw_cli_translate(int argc, char **argv) {
  static const struct option opts[] = {{"to", required_argument, 0, 't'},     {"country", required_argument, 0, 'C'},
                                       {"format", required_argument, 0, 'f'}, {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  const char *to = NULL, *country = NULL, *format = NULL, *config = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 't': to = optarg; break;
    case 'C': country = optarg; break;
    case 'f': format = optarg; break;
    case 'c': config = optarg; break;
    case 'h': usage_translate(stdout); return 0;
    default: usage_translate(stderr); return 2;
    }
  }
  if (optind != argc - 1 || (!to && !country)) {
    usage_translate(stderr);
    return 2;
  }
  cli_env e;
  if (env_open(&e, config)) return 1;
  const char *file = argv[optind];
  gw_problems p = {0};
  gw_decoded d = {0};
  gw_encoded out = {0};
  size_t len = 0;
  char *data = read_file(file, &len);
  int rc = 1;
  if (!data) {
    fprintf(stderr, "%s: cannot read the file\n", file);
    goto end;
  }
  if (gw_registry_decode(e.reg, data, len, format, &d, &p)) goto end;
  gw_check_message(&d.model, &p);
  if (has_error(&p)) goto end;
  if (!to) {
    const gw_country_profile *prof = gw_config_country(&e.cfg, country);
    int ki = gw_kind_index(d.kind);
    if (!prof || ki < 0 || !prof->receives[ki]) {
      fprintf(stderr, "lmcgw translate: no profile says what %s receives for a %s\n", country, d.kind);
      goto end;
    }
    to = prof->receives[ki];
  }
  const gw_adapter *a = gw_registry_find(e.reg, to);
  if (!a) {
    fprintf(stderr, "lmcgw translate: no format '%s' (see `lmcgw formats`)\n", to);
    goto end;
  }
  if (gw_registry_encode(e.reg, a, &d.model, 1, &out, &p)) goto end;
  fwrite(out.bytes, 1, out.len, stdout);
  if (out.len && out.bytes[out.len - 1] != '\n') fputc('\n', stdout);
  rc = 0;
end:
  print_problems(stderr, file, &p);
  gw_encoded_free(&out);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  free(data);
  env_close(&e);
  return rc;
}

/* ---- formats --------------------------------------------------------------- */

static void usage_formats(FILE *out) {
  fprintf(out,
          "Usage: lmcgw formats [--fields] [--json-schema] [--config FILE]\n"
          "\n"
          "Lists the formats this gateway reads and writes: name, media type, document\n"
          "kinds, XML roots and their schemas.\n"
          "  --fields       a table of every canonical field and the formats that carry it\n"
          "  --json-schema  the JSON Schema of the portal JSON format\n");
}

static void field_paths(const gw_struct_desc *d, char *path, size_t plen, size_t cap, const gw_registry *reg) {
  for (const gw_field *f = d->fields; f->name; f++) {
    int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    if (f->type == GW_FT_STR) {
      printf("%-44s", path);
      for (size_t i = 0; i < gw_registry_count(reg); i++)
        printf(" %-8s", gw_adapter_carries(gw_registry_at(reg, i), NULL, path) ? "yes" : "-");
      printf("\n");
    } else {
      field_paths(f->sub, path, l, cap, reg);
    }
    path[plen] = 0;
  }
}

int gw_cli_formats(int argc, char **argv) {
  static const struct option opts[] = {{"fields", no_argument, 0, 'F'},         {"json-schema", no_argument, 0, 'J'},
                                       {"config", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *config = NULL;
  int fields = 0, schema = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'F': fields = 1; break;
    case 'J': schema = 1; break;
    case 'c': config = optarg; break;
    case 'h': usage_formats(stdout); return 0;
    default: usage_formats(stderr); return 2;
    }
  }
  if (optind != argc) {
    usage_formats(stderr);
    return 2;
  }
  if (schema) {
    char *s = gw_model_json_schema();
    if (!s) return 1;
    puts(s);
    free(s);
    return 0;
  }
  cli_env e;
  if (env_open(&e, config)) return 1;
  if (fields) {
    printf("%-44s", "canonical field");
    for (size_t i = 0; i < gw_registry_count(e.reg); i++) printf(" %-8s", gw_registry_at(e.reg, i)->name);
    printf("\n");
    char path[512] = "";
    field_paths(&gw_consignment_desc, path, 0, sizeof(path), e.reg);
  } else {
    for (size_t i = 0; i < gw_registry_count(e.reg); i++) {
      const gw_adapter *a = gw_registry_at(e.reg, i);
      printf("%-10s %-22s %s\n           kinds: %s\n", a->name, a->media_type, a->description, a->kinds);
      size_t k = 0;
      for (const gw_adapter_root *r = a->roots; r && r->local; r++, k++) {
        const char *xsd = gw_registry_xsd(e.reg, a, k);
        printf("           root {%s}%s -> %s, schema %s\n", r->ns, r->local, r->kind, xsd ? xsd : "(none)");
      }
    }
  }
  env_close(&e);
  return 0;
}
