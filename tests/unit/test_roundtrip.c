/* Property-based round trips between every pair of built-in formats.
 *
 * For each document kind and each pair (A, B) of formats that can carry it,
 * random consignments restricted to the fields both formats carry go
 * A -> decode -> B -> decode, through the registry (so every encoded XML
 * document is also validated against its schema on the way back in), and
 * must come back equal to what was generated. The seed is printed on
 * failure; LMCGW_PROPERTY_ITERATIONS sets the count per pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/registry.h"
#include "gen.h"
#include "model/json.h"
#include "pipeline/xml.h"

static gw_registry *reg;

static unsigned iterations(void) {
  const char *e = getenv("LMCGW_PROPERTY_ITERATIONS");
  return e && atoi(e) > 0 ? (unsigned)atoi(e) : 300;
}

typedef struct pair {
  const gw_adapter *a, *b;
  const char *kind;
} pair;

/* "parties.role=X" entries in carries limit the party roles a format has;
 * without any, it has them all. */
static int role_ok(const gw_adapter *a, const char *role) {
  int any = 0;
  char want[64];
  snprintf(want, sizeof(want), "parties.role=%s", role);
  for (const char *const *c = a->carries; c && *c; c++) {
    if (!strncmp(*c, "parties.role=", 13)) {
      any = 1;
      if (!strcmp(*c, want)) return 1;
    }
  }
  return !any;
}

static int both_carry(const char *path, void *ud) {
  pair *p = ud;
  if (!strncmp(path, "parties.role=", 13)) return role_ok(p->a, path + 13) && role_ok(p->b, path + 13);
  return gw_adapter_carries(p->a, p->kind, path) && gw_adapter_carries(p->b, p->kind, path);
}

/* Writes a failing case where the test runs (cmocka cuts long messages). */
static void save(const char *name, char *text) {
  FILE *f = fopen(name, "w");
  if (f && text) fputs(text, f);
  if (f) fclose(f);
  free(text);
}

static int through(const gw_adapter *f, const gw_consignment *in, gw_consignment *out, char **text) {
  gw_problems p = {0};
  gw_encoded e = {0};
  int rc = gw_registry_encode(reg, f, in, 1, &e, &p);
  if (rc) {
    fprintf(stderr, "encode with %s failed:\n", f->name);
  } else {
    gw_decoded d = {0};
    *text = strndup(e.bytes, e.len);
    rc = gw_registry_decode(reg, e.bytes, e.len, f->name, &d, &p);
    if (rc) fprintf(stderr, "decode of %s output failed:\n%s\n", f->name, *text);
    *out = d.model;
    memset(&d.model, 0, sizeof(d.model));
    gw_decoded_free(&d);
  }
  for (size_t i = 0; i < p.n; i++)
    if (rc || strcmp(p.items[i].code, "lossy_field"))
      fprintf(stderr, "  %s %s line %ld at %s: %s\n", p.items[i].severity, p.items[i].code, p.items[i].line,
              p.items[i].path, p.items[i].message);
  gw_problems_free(&p);
  gw_encoded_free(&e);
  return rc;
}

static void test_pairs(void **state) {
  (void)state;
  static const char *const kinds[] = {GW_KIND_DECLARATION, GW_KIND_RESPONSE, GW_KIND_SPS, GW_KIND_SPS_ACK, GW_KIND_CO};
  unsigned n = iterations(), pairs = 0, total = 0;
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    for (size_t i = 0; i < gw_registry_count(reg); i++) {
      for (size_t j = 0; j < gw_registry_count(reg); j++) {
        pair pr = {gw_registry_at(reg, i), gw_registry_at(reg, j), kinds[k]};
        if (!gw_adapter_can_encode(pr.a, kinds[k]) || !gw_adapter_can_encode(pr.b, kinds[k])) continue;
        pairs++;
        for (unsigned it = 0; it < n; it++) {
          uint64_t seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(k * 64 + i * 8 + j) << 32) ^ it;
          gen_rng r = {seed};
          gw_consignment orig = {0}, m1 = {0}, m2 = {0};
          gen_consignment(&r, kinds[k], both_carry, &pr, &orig);
          char *t1 = NULL, *t2 = NULL, where[512];
          if (through(pr.a, &orig, &m1, &t1) || through(pr.b, &m1, &m2, &t2)) {
            save("failed-model.json", gw_model_to_json(&orig, 1));
            fail_msg("%s: %s -> %s, seed %#llx: a step failed (model in failed-model.json)", kinds[k], pr.a->name,
                     pr.b->name, (unsigned long long)seed);
          }
          if (gw_model_compare(&orig, &m2, where, sizeof(where))) {
            save("failed-sent.json", gw_model_to_json(&orig, 1));
            save("failed-back.json", gw_model_to_json(&m2, 1));
            save("failed-first.txt", strdup(t1));
            save("failed-second.txt", strdup(t2));
            fail_msg("%s: %s -> %s, seed %#llx: differs at %s (failed-{sent,back}.json, failed-{first,second}.txt)",
                     kinds[k], pr.a->name, pr.b->name, (unsigned long long)seed, where);
          }
          free(t1);
          free(t2);
          gw_model_free(&orig);
          gw_model_free(&m1);
          gw_model_free(&m2);
          total++;
        }
      }
    }
  }
  printf("round trips: %u consignments over %u (kind, format, format) combinations\n", total, pairs);
  assert_true(pairs > 0);
}

/* ---- the public corpus through every declaration format ------------------- */

/* A party is known by its role, not its place in the list: a format that
 * has no box for one role drops that party, and the ones after it move up.
 * So entries name parties as "parties{role}" (v, compared) and keep the
 * model's own path (path, which the adapters' warnings name). */
typedef struct entry {
  char *v;
  char *path;
} entry;

typedef struct pathset {
  entry *v;
  size_t n, cap;
  const gw_adapter *a, *b;
  const char *kind;
  const gw_consignment *c;
} pathset;

static void collect(const char *path, const char *value, void *ud) {
  pathset *s = ud;
  if (!gw_adapter_carries(s->a, s->kind, path) || !gw_adapter_carries(s->b, s->kind, path)) return;
  if (s->n == s->cap) s->v = realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 64) * sizeof(entry));
  char key[600];
  size_t idx;
  int off = 0;
  if (sscanf(path, "parties[%zu]%n", &idx, &off) == 1 && off > 0 && idx < s->c->n_parties)
    snprintf(key, sizeof(key), "parties{%s}%s", s->c->parties[idx].role ? s->c->parties[idx].role : "", path + off);
  else
    snprintf(key, sizeof(key), "%s", path);
  size_t l = strlen(key) + strlen(value) + 2;
  s->v[s->n].v = malloc(l);
  snprintf(s->v[s->n].v, l, "%s=%s", key, value);
  s->v[s->n++].path = strdup(path);
}

static int cmpentry(const void *x, const void *y) { return strcmp(((const entry *)x)->v, ((const entry *)y)->v); }

/* The fields both formats carry, as sorted "key=value" entries. */
static void carried(const gw_consignment *c, const gw_adapter *a, const gw_adapter *b, pathset *s) {
  memset(s, 0, sizeof(*s));
  s->a = a, s->b = b, s->kind = c->kind, s->c = c;
  gw_model_visit(c, collect, s);
  qsort(s->v, s->n, sizeof(entry), cmpentry);
}

static void pathset_free(pathset *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i].v), free(s->v[i].path);
  free(s->v);
}

/* Every valid HMRC DEC sample decodes and survives a trip through every
 * other declaration format: what both carry comes back unchanged, and
 * nothing is invented. */
static void test_corpus_through_every_format(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/hmrc-cds-wco/examples", LMCGW_CORPUS_DIR);
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "grep -rl --include=*.xml 'urn:wco:datamodel:WCO:DEC-DMS:2' '%s' 2>/dev/null | sort", dir);
  FILE *ls = popen(cmd, "r");
  char file[1024];
  unsigned tried = 0, valid = 0, trips = 0, failed = 0;
  const gw_adapter *wco = gw_registry_find(reg, "wco-dec");
  while (ls && fgets(file, sizeof(file), ls)) {
    file[strcspn(file, "\n")] = 0;
    FILE *f = fopen(file, "rb");
    if (!f) continue;
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    tried++;
    gw_decoded d = {0};
    gw_problems p = {0};
    if (gw_registry_decode(reg, buf, len, NULL, &d, &p) || d.adapter != wco) {
      gw_decoded_free(&d);
      gw_problems_free(&p);
      continue;
    }
    valid++;
    for (size_t i = 0; i < gw_registry_count(reg); i++) {
      const gw_adapter *b = gw_registry_at(reg, i);
      if (b == wco || !gw_adapter_can_encode(b, d.kind)) continue;
      gw_consignment back = {0};
      gw_problems ep = {0};
      gw_encoded e = {0};
      gw_decoded bd = {0};
      int rc = gw_registry_encode(reg, b, &d.model, 1, &e, &ep);
      if (!rc) rc = gw_registry_decode(reg, e.bytes, e.len, b->name, &bd, &ep);
      if (rc) {
        fprintf(stderr, "%s -> %s failed:\n", file, b->name);
        for (size_t k = 0; k < ep.n; k++)
          if (strcmp(ep.items[k].severity, "warning"))
            fprintf(stderr, "  %s %s at %s: %s\n", ep.items[k].severity, ep.items[k].code, ep.items[k].path,
                    ep.items[k].message);
        failed++;
      } else {
        back = bd.model;
        memset(&bd.model, 0, sizeof(bd.model));
        pathset x, y;
        carried(&d.model, wco, b, &x);
        carried(&back, wco, b, &y);
        /* A value the format said it could not carry (a warning naming its
         * path) is loud, not lost in silence: leave it out of the comparison. */
        size_t bad = 0;
        for (int pass = 0; pass < 2; pass++) {
          pathset *from = pass ? &y : &x, *to = pass ? &x : &y;
          for (size_t k = 0; k < from->n; k++) {
            if (bsearch(&from->v[k], to->v, to->n, sizeof(entry), cmpentry)) continue;
            /* A warning names the field itself, or the whole party. */
            const char *fp = from->v[k].path;
            size_t party = strncmp(fp, "parties[", 8) ? 0 : strcspn(fp, "]") + 1;
            int warned = 0;
            for (size_t w = 0; w < ep.n && !warned; w++)
              warned = !strcmp(ep.items[w].severity, "warning") &&
                       (!strcmp(ep.items[w].path, fp) ||
                        (party && strlen(ep.items[w].path) == party && !strncmp(ep.items[w].path, fp, party)));
            if (warned) continue;
            fprintf(stderr, "%s -> %s: %s %s\n", file, b->name, pass ? "invented" : "lost", from->v[k].v);
            bad++;
          }
        }
        if (bad) failed++;
        else trips++;
        pathset_free(&x), pathset_free(&y);
      }
      gw_encoded_free(&e);
      gw_decoded_free(&bd);
      gw_problems_free(&ep);
      gw_model_free(&back);
    }
    gw_decoded_free(&d);
    gw_problems_free(&p);
  }
  if (ls) pclose(ls);
  if (!tried) {
    printf("skipped: corpus absent (%s)\n", dir);
    return;
  }
  printf("HMRC DEC corpus: %u tried, %u valid, %u trips through other formats, %u failed\n", tried, valid, trips,
         failed);
  assert_int_equal(failed, 0);
  assert_true(valid > 0);
}

static int setup(void **state) {
  (void)state;
  gw_error err = {0};
  if (gw_xml_global_init(&err)) return -1;
  if (gw_registry_new(LMCGW_SOURCE_DIR "/schemas", NULL, &reg, &err)) {
    fprintf(stderr, "registry: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  gw_registry_free(reg);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_pairs), cmocka_unit_test(test_corpus_through_every_format)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
