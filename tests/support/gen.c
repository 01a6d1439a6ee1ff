/* Random consignments for property-based tests (see gen.h). */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t gen_next(gen_rng *r) {
  /* xorshift64*: reproducible from the seed the test prints. */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return (uint32_t)((r->s * 2685821657736338717ULL) >> 32);
}

static const char *pick(gen_rng *r, const char *const *list) {
  size_t n = 0;
  while (list[n]) n++;
  return list[gen_next(r) % n];
}

static const char *const countries[] = {"CN", "KH", "LA", "MM", "TH", "VN", "SG", "MY", NULL};
static const char *const currencies[] = {"USD", "THB", "VND", "CNY", "KHR", "LAK", "MMK", NULL};
static const char *const mass_units[] = {"KGM", NULL};
static const char *const qty_units[] = {"KGM", "NAR", "LTR", NULL};
static const char *const words[] = {"durian", "rice", "coffee", "mung", "beans", "fresh", "dried", "jasmine",
                                    "arabica", "cartons", "bags", "whole", "fruit", "milled", "green", "Mekong",
                                    "river", "Co.", "Ltd", "Trading", "Export", "Import", "Hai Phong", "Vientiane",
                                    "Phnom Penh", "Yangon", "Kunming", "Bangkok", NULL};
static const char *const cities[] = {"Chanthaburi", "Hai Phong", "Vientiane", "Phnom Penh", "Yangon", "Kunming", NULL};
static const char *const locodes[] = {"THLCH", "VNHPH", "KHPNH", "LAVTE", "MMRGN", "CNKMG", "THBKK", NULL};
static const char *const roles[] = {GW_ROLE_EXPORTER, GW_ROLE_IMPORTER, GW_ROLE_CONSIGNOR,
                                    GW_ROLE_CONSIGNEE, GW_ROLE_DECLARANT, GW_ROLE_CARRIER, GW_ROLE_AUTHORITY, NULL};

static void set(char **slot, const char *v) { gw_model_set(slot, v, -1); }

static void text(gen_rng *r, char **slot, int nwords) {
  char b[256] = "";
  for (int i = 0; i < nwords; i++)
    snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s%s", i ? " " : "", pick(r, words));
  set(slot, b);
}

/* Decimals without trailing fractional zeros, so no format's normalisation of
 * "12.50" to "12.5" is mistaken for a loss. */
static void decimal(gen_rng *r, char **slot) {
  char b[40];
  unsigned whole = gen_next(r) % 100000, frac = gen_next(r) % 100;
  if (frac % 10 == 0) frac /= 10;
  if (frac % 10 == 0) snprintf(b, sizeof(b), "%u", whole);
  else snprintf(b, sizeof(b), "%u.%u", whole, frac);
  set(slot, b);
}

static void date(gen_rng *r, char **slot) {
  char b[16];
  snprintf(b, sizeof(b), "20%02u-%02u-%02u", 24 + gen_next(r) % 3, 1 + gen_next(r) % 12, 1 + gen_next(r) % 28);
  set(slot, b);
}

static void ident(gen_rng *r, char **slot, const char *prefix) {
  char b[48];
  snprintf(b, sizeof(b), "%s%06u", prefix, gen_next(r) % 1000000);
  set(slot, b);
}

/* The value of one leaf, chosen by its field name and where it sits. */
static void leaf(gen_rng *r, const char *path, const char *name, char **slot, const char *kind) {
  const char *parent = strrchr(path, '.') ? path : "";
  if (strstr(name, "country") || !strcmp(name, "nationality")) set(slot, pick(r, countries));
  else if (!strcmp(name, "currency")) set(slot, pick(r, currencies));
  else if (!strcmp(name, "unit")) set(slot, strstr(path, "quantity") ? pick(r, qty_units) : pick(r, mass_units));
  else if (!strcmp(name, "value")) decimal(r, slot);
  else if (!strcmp(name, "package_count") || !strcmp(name, "total_packages") || !strcmp(name, "declared_items")) {
    char b[16];
    snprintf(b, sizeof(b), "%u", 1 + gen_next(r) % 5000);
    set(slot, b);
  } else if (!strcmp(name, "package_type")) set(slot, (const char *[]){"CT", "BG", "BX", "PK"}[gen_next(r) % 4]);
  else if (!strcmp(name, "type") && strstr(path, "documents"))
    set(slot, (const char *[]){"851", "380", "935", "N853"}[gen_next(r) % 4]);
  else if (!strcmp(name, "means_type")) set(slot, (const char *[]){"31", "11", "41"}[gen_next(r) % 3]);
  else if (!strcmp(name, "size_type")) set(slot, (const char *[]){"22G1", "45R1"}[gen_next(r) % 2]);
  else if (!strcmp(name, "duration") || !strcmp(name, "temperature") || !strcmp(name, "concentration")) {
    /* "number unit", as SPS measures are carried (Rec 20 units). */
    char b[32];
    const char *u = !strcmp(name, "duration") ? "HUR" : !strcmp(name, "temperature") ? "CEL" : "GL";
    snprintf(b, sizeof(b), "%u %s", 1 + gen_next(r) % 72, u);
    set(slot, b);
  } else if (!strcmp(name, "digest")) {
    char b[80];
    snprintf(b, sizeof(b), "sha256:%08x%08x%08x%08x%08x%08x%08x%08x", gen_next(r), gen_next(r), gen_next(r), gen_next(r),
             gen_next(r), gen_next(r), gen_next(r), gen_next(r));
    set(slot, b);
  } else if (!strcmp(name, "subject")) set(slot, (const char *[]){"AAI", "00400", "ADD", "E101"}[gen_next(r) % 4]);
  else if (!strcmp(name, "type_extra")) set(slot, (const char *[]){"A", "D", "Z"}[gen_next(r) % 3]);
  else if (!strcmp(name, "decision"))
    set(slot, (const char *[]){"ACCEPTED", "INSPECTION_REQUIRED", "RELEASED", "REFUSED"}[gen_next(r) % 4]);
  else if (strstr(name, "date") || !strcmp(name, "issued") || !strcmp(name, "issued_at") || !strcmp(name, "signed_at"))
    date(r, slot);
  else if (!strcmp(name, "hs_code")) {
    char b[16];
    unsigned ch = 6 + gen_next(r) % 9; /* chapters 06-14: plants */
    snprintf(b, sizeof(b), "%02u%04u", ch, gen_next(r) % 10000);
    set(slot, b);
  } else if (!strcmp(name, "code") && strstr(path, "loading")) set(slot, pick(r, locodes));
  else if (!strcmp(name, "code") && strstr(path, "unloading")) set(slot, pick(r, locodes));
  else if (!strcmp(name, "code")) set(slot, pick(r, locodes));
  else if (!strcmp(name, "city")) set(slot, pick(r, cities));
  else if (!strcmp(name, "postcode")) ident(r, slot, "");
  else if (!strcmp(name, "mode")) set(slot, (const char *[]){"1", "3", "4"}[gen_next(r) % 3]);
  else if (!strcmp(name, "container")) set(slot, gen_next(r) % 2 ? "1" : "0");
  else if (!strcmp(name, "function_code")) set(slot, "9");
  else if (!strcmp(name, "type_code")) {
    if (!strcmp(kind, GW_KIND_SPS)) set(slot, "851");
    else set(slot, gen_next(r) % 2 ? "EX" : "IM");
  } else if (!strcmp(name, "cert_type")) set(slot, "851");
  else if (!strcmp(name, "status")) set(slot, strstr(path, "sps") ? "70" : "01");
  else if (!strcmp(name, "id") || !strcmp(name, "lrn") || !strcmp(name, "ucr") || !strcmp(name, "mrn") ||
           !strcmp(name, "cert_id") || !strcmp(name, "ref_id") || !strcmp(name, "means_id") ||
           !strcmp(name, "journey_id") || !strcmp(name, "seal") || strstr(name, "office"))
    ident(r, slot, "TH");
  else if (!strcmp(name, "scientific_name")) set(slot, (const char *[]){"Durio zibethinus", "Oryza sativa", "Coffea arabica", "Vigna radiata"}[gen_next(r) % 4]);
  else if (!strcmp(name, "incoterm")) set(slot, (const char *[]){"FOB", "CIF", "EXW", "DAP"}[gen_next(r) % 4]);
  else text(r, slot, 1 + (int)(gen_next(r) % 3));
  (void)parent;
}

static void strip_indices(const char *in, char *out, size_t cap) {
  size_t j = 0;
  for (; *in && j + 1 < cap; in++) {
    if (*in == '[') {
      while (*in && *in != ']') in++;
      if (!*in) break;
      continue;
    }
    out[j++] = *in;
  }
  out[j] = 0;
}

/* What a document of this kind has at the top: a declaration has no
 * response part, a response no goods. */
static int top_level_ok(const char *kind, const char *field) {
  int resp = !strcmp(kind, GW_KIND_RESPONSE) || !strcmp(kind, GW_KIND_SPS_ACK);
  if (!strcmp(field, "response")) return resp;
  if (!strcmp(field, "sps")) return !strcmp(kind, GW_KIND_SPS);
  if (!resp) return 1;
  static const char *const resp_fields[] = {"type_code", "function_code", "lrn", "ucr", "mrn", "cert_id",
                                            "issued_at", "export_country", "import_country", NULL};
  for (size_t i = 0; resp_fields[i]; i++)
    if (!strcmp(field, resp_fields[i])) return 1;
  return 0;
}

static void fill(gen_rng *r, const gw_struct_desc *d, void *obj, char *path, size_t plen, size_t cap,
                 gen_filter_fn filter, void *ud, const char *kind, int depth) {
  for (const gw_field *f = d->fields; f->name; f++) {
    if (plen == 0 && !top_level_ok(kind, f->name)) continue;
    int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    char *slot = (char *)obj + f->offset;
    if (f->type == GW_FT_STR) {
      if (!strcmp(f->name, "kind") || !strcmp(f->name, "role") || !strcmp(f->name, "sequence")) {
        path[plen] = 0;
        continue; /* set by the caller where they belong */
      }
      char norm[512];
      strip_indices(path, norm, sizeof(norm));
      /* The identity of a document is always there: formats require it. */
      static const char *const always[] = {"function_code", "type_code", "lrn", "ucr", "cert_id", "issued_at",
                                           "response.status", "sps.cert_type", "sps.status", NULL};
      int must = 0;
      for (size_t i = 0; always[i]; i++) must |= !strcmp(norm, always[i]);
      if ((!filter || filter(norm, ud)) && (must || gen_next(r) % 4 != 0)) leaf(r, norm, f->name, (char **)slot, kind);
    } else if (f->type == GW_FT_STRUCT && (!strcmp(f->sub->name, "measure") || !strcmp(f->sub->name, "amount"))) {
      /* A quantity without its unit (or an amount without its currency)
       * means nothing: both or neither. */
      char pv[512], pu[512];
      snprintf(pv, sizeof(pv), "%s.value", path);
      snprintf(pu, sizeof(pu), "%s.%s", path, !strcmp(f->sub->name, "measure") ? "unit" : "currency");
      char nv[512], nu[512];
      strip_indices(pv, nv, sizeof(nv));
      strip_indices(pu, nu, sizeof(nu));
      if ((!filter || (filter(nv, ud) && filter(nu, ud))) && gen_next(r) % 4 != 0) {
        leaf(r, nv, "value", (char **)slot, kind);
        leaf(r, nu, strrchr(nu, '.') + 1, (char **)(slot + sizeof(char *)), kind);
      }
    } else if (f->type == GW_FT_STRUCT) {
      fill(r, f->sub, slot, path, l, cap, filter, ud, kind, depth);
    } else {
      size_t n = depth > 1 ? 0 : gen_next(r) % 4;
      size_t *cnt = (size_t *)((char *)obj + f->count_offset);
      int is_party = !strcmp(f->sub->name, "party");
      /* Distinct roles (formats key parties by role), among those the filter
       * allows: it is asked about "parties.role=<role>". */
      const char *allowed[16];
      size_t n_allowed = 0;
      for (size_t i = 0; is_party && roles[i]; i++) {
        char key[64];
        snprintf(key, sizeof(key), "parties.role=%s", roles[i]);
        if (!filter || filter(key, ud)) allowed[n_allowed++] = roles[i];
      }
      if (is_party) n = n_allowed ? 1 + gen_next(r) % n_allowed : 0;
      for (size_t i = 0; i < n; i++) {
        void *el = gw_model_push((void **)slot, cnt, f->sub->size);
        int w2 = snprintf(path + l, cap - l, "[%zu]", i);
        size_t l2 = l + (w2 > 0 && (size_t)w2 < cap - l ? (size_t)w2 : 0);
        fill(r, f->sub, el, path, l2, cap, filter, ud, kind, depth + 1);
        if (!strcmp(f->sub->name, "item")) {
          char seq[24];
          snprintf(seq, sizeof(seq), "%zu", i + 1);
          set(&((gw_item *)el)->sequence, seq);
        }
        path[l] = 0;
      }
      for (size_t i = 0; is_party && i < *cnt; i++) set(&((gw_party *)*(void **)slot)[i].role, allowed[i]);
    }
    path[plen] = 0;
  }
}

static int empty_struct(const gw_struct_desc *d, const void *obj);

/* Drops array entries that came out empty: no format can carry an empty
 * entry, so they would only fail the comparison. */
static void prune(const gw_struct_desc *d, void *obj) {
  for (const gw_field *f = d->fields; f->name; f++) {
    char *slot = (char *)obj + f->offset;
    if (f->type == GW_FT_STRUCT) prune(f->sub, slot);
    if (f->type != GW_FT_ARRAY) continue;
    size_t *cnt = (size_t *)((char *)obj + f->count_offset);
    char *arr = *(char **)slot;
    size_t k = 0;
    for (size_t i = 0; i < *cnt; i++) {
      char *e = arr + i * f->sub->size;
      prune(f->sub, e);
      if (empty_struct(f->sub, e)) {
        gw_model_free_struct(f->sub, e);
        continue;
      }
      if (k != i) memcpy(arr + k * f->sub->size, e, f->sub->size);
      k++;
    }
    *cnt = k;
    if (!k) {
      free(arr);
      *(char **)slot = NULL;
    }
  }
}

static int empty_struct(const gw_struct_desc *d, const void *obj) {
  for (const gw_field *f = d->fields; f->name; f++) {
    const char *p = (const char *)obj + f->offset;
    if (f->type == GW_FT_STR && *(char *const *)p && strcmp(f->name, "role") && strcmp(f->name, "sequence")) return 0;
    if (f->type == GW_FT_STRUCT && !empty_struct(f->sub, p)) return 0;
    if (f->type == GW_FT_ARRAY && *(const size_t *)((const char *)obj + f->count_offset)) return 0;
  }
  return 1;
}

void gen_consignment(gen_rng *r, const char *kind, gen_filter_fn filter, void *ud, gw_consignment *c) {
  char path[512] = "";
  fill(r, &gw_consignment_desc, c, path, 0, sizeof(path), filter, ud, kind, 0);
  prune(&gw_consignment_desc, c);
  /* Sequence numbers follow the surviving items. */
  for (size_t i = 0; i < c->n_items; i++) {
    char seq[24];
    snprintf(seq, sizeof(seq), "%zu", i + 1);
    set(&c->items[i].sequence, seq);
  }
  /* A scheme names who issued an identifier: none without one. */
  for (size_t i = 0; i < c->n_parties; i++)
    if (!c->parties[i].id) {
      free(c->parties[i].id_scheme);
      c->parties[i].id_scheme = NULL;
    }
  set(&c->kind, kind);
  gw_model_normalize(c);
}
