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
  static const char *const kinds[] = {GW_KIND_DECLARATION, GW_KIND_RESPONSE, GW_KIND_SPS, GW_KIND_SPS_ACK};
  unsigned n = iterations(), pairs = 0, total = 0;
  for (size_t k = 0; k < 4; k++) {
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
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_pairs)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
