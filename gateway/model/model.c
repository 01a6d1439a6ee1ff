/* lmcgw — canonical model: the field tables and the operations that walk them. */
#include "model/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(T, f, d) {#f, GW_FT_STR, offsetof(T, f), 0, NULL, d}
#define ST(T, f, sd, d) {#f, GW_FT_STRUCT, offsetof(T, f), 0, &sd, d}
#define AR(T, f, cnt, sd, d) {#f, GW_FT_ARRAY, offsetof(T, f), offsetof(T, cnt), &sd, d}
#define END {NULL, 0, 0, 0, NULL, NULL}

static const gw_field address_f[] = {
    S(gw_address, line, "street and number"),
    S(gw_address, city, "city"),
    S(gw_address, postcode, "postcode"),
    S(gw_address, subdivision, "country subdivision"),
    S(gw_address, country, "ISO 3166-1 alpha-2 country"),
    END};
static const gw_struct_desc address_d = {"address", sizeof(gw_address), address_f};

static const gw_field party_f[] = {
    S(gw_party, role, "exporter, importer, consignor, consignee, declarant, carrier or authority"),
    S(gw_party, id, "identifier (EORI, TIN, business number)"),
    S(gw_party, id_scheme, "who issued the identifier"),
    S(gw_party, name, "name"),
    ST(gw_party, address, address_d, "postal address"),
    S(gw_party, contact, "contact person or phone"),
    END};
static const gw_struct_desc party_d = {"party", sizeof(gw_party), party_f};

static const gw_field measure_f[] = {
    S(gw_measure, value, "decimal"),
    S(gw_measure, unit, "UN/ECE Recommendation 20 unit code"),
    END};
static const gw_struct_desc measure_d = {"measure", sizeof(gw_measure), measure_f};

static const gw_field amount_f[] = {
    S(gw_amount, value, "decimal"),
    S(gw_amount, currency, "ISO 4217 currency code"),
    END};
static const gw_struct_desc amount_d = {"amount", sizeof(gw_amount), amount_f};

static const gw_field docref_f[] = {
    S(gw_docref, type, "document type code"),
    S(gw_docref, id, "document number"),
    S(gw_docref, issued, "issue date"),
    S(gw_docref, issuer, "issuing country or authority"),
    END};
static const gw_struct_desc docref_d = {"document", sizeof(gw_docref), docref_f};

static const gw_field location_f[] = {
    S(gw_location, code, "UN/LOCODE or customs office code"),
    S(gw_location, name, "name"),
    S(gw_location, country, "ISO 3166-1 alpha-2 country"),
    END};
static const gw_struct_desc location_d = {"location", sizeof(gw_location), location_f};

static const gw_field transport_f[] = {
    S(gw_transport, mode, "UN/ECE Recommendation 19 transport mode"),
    S(gw_transport, means_type, "type of means of transport"),
    S(gw_transport, means_id, "identification (plate, IMO number, flight)"),
    S(gw_transport, nationality, "ISO 3166-1 alpha-2 nationality"),
    S(gw_transport, journey_id, "conveyance reference"),
    S(gw_transport, container, "1 containerised, 0 not"),
    END};
static const gw_struct_desc transport_d = {"transport", sizeof(gw_transport), transport_f};

static const gw_field equipment_f[] = {
    S(gw_equipment, id, "container number (ISO 6346)"),
    S(gw_equipment, size_type, "ISO 6346 size and type code"),
    S(gw_equipment, seal, "seal number"),
    END};
static const gw_struct_desc equipment_d = {"equipment", sizeof(gw_equipment), equipment_f};

static const gw_field treatment_f[] = {
    S(gw_treatment, type, "treatment type"),
    S(gw_treatment, chemical, "active ingredient"),
    S(gw_treatment, concentration, "concentration with unit"),
    S(gw_treatment, duration, "duration"),
    S(gw_treatment, temperature, "temperature"),
    S(gw_treatment, date, "date applied"),
    END};
static const gw_struct_desc treatment_d = {"treatment", sizeof(gw_treatment), treatment_f};

static const gw_field note_f[] = {
    S(gw_note, subject, "subject or code"),
    S(gw_note, text, "text"),
    END};
static const gw_struct_desc note_d = {"note", sizeof(gw_note), note_f};

static const gw_field item_f[] = {
    S(gw_item, sequence, "item number, from 1"),
    S(gw_item, hs_code, "HS commodity code, 6 to 10 digits"),
    S(gw_item, description, "goods description"),
    ST(gw_item, quantity, measure_d, "supplementary quantity"),
    ST(gw_item, gross_weight, measure_d, "gross mass"),
    ST(gw_item, net_weight, measure_d, "net mass"),
    ST(gw_item, value, amount_d, "customs or statistical value"),
    S(gw_item, origin_country, "country of origin"),
    S(gw_item, package_type, "UN/ECE Recommendation 21 package type"),
    S(gw_item, package_count, "number of packages"),
    S(gw_item, package_marks, "shipping marks"),
    S(gw_item, commodity, "SPS: common name of the commodity"),
    S(gw_item, scientific_name, "SPS: botanical or zoological name"),
    S(gw_item, intended_use, "SPS: intended use"),
    S(gw_item, production_place, "SPS: place of production"),
    AR(gw_item, treatments, n_treatments, treatment_d, "SPS: treatments applied"),
    AR(gw_item, documents, n_documents, docref_d, "documents referenced by this item"),
    END};
static const gw_struct_desc item_d = {"item", sizeof(gw_item), item_f};

static const gw_field sps_f[] = {
    S(gw_sps, cert_type, "UN/EDIFACT 1001 certificate type (851 phytosanitary ...)"),
    S(gw_sps, status, "UN/EDIFACT 1373 document status (70 original ...)"),
    S(gw_sps, issued_at, "issue date and time"),
    S(gw_sps, issue_place, "place of issue"),
    S(gw_sps, signatory, "authorised officer"),
    S(gw_sps, signed_at, "date of signature"),
    S(gw_sps, inspection, "inspection summary"),
    AR(gw_sps, declarations, n_declarations, note_d, "additional declarations and notes"),
    END};
static const gw_struct_desc sps_d = {"sps", sizeof(gw_sps), sps_f};

static const gw_field response_f[] = {
    S(gw_response, status, "function or status code of the response"),
    S(gw_response, decision, "ACCEPTED, INSPECTION_REQUIRED, RELEASED or REFUSED"),
    S(gw_response, issued_at, "date and time of the response"),
    S(gw_response, ref_id, "reference of the document responded to"),
    S(gw_response, digest, "sha256:<hex> of the exact bytes acknowledged (signed receipts)"),
    AR(gw_response, errors, n_errors, note_d, "errors: subject = code, text = description"),
    END};
static const gw_struct_desc response_d = {"response", sizeof(gw_response), response_f};

static const gw_field consignment_f[] = {
    S(gw_consignment, kind, "declaration, response, sps_certificate, sps_acknowledgement or certificate_of_origin"),
    S(gw_consignment, type_code, "declaration type (IM, EX, CO) or certificate type"),
    S(gw_consignment, type_extra, "additional declaration type"),
    S(gw_consignment, function_code, "UN/EDIFACT 1225 message function (9 original ...)"),
    S(gw_consignment, lrn, "local reference number of the sender"),
    S(gw_consignment, ucr, "unique consignment reference"),
    S(gw_consignment, mrn, "movement reference number"),
    S(gw_consignment, cert_id, "certificate number"),
    S(gw_consignment, issued_at, "issue date and time"),
    S(gw_consignment, declaration_office, "customs office of declaration"),
    S(gw_consignment, exit_office, "customs office of exit"),
    S(gw_consignment, export_country, "country of export"),
    S(gw_consignment, import_country, "country of import"),
    S(gw_consignment, dispatch_country, "country of dispatch"),
    S(gw_consignment, destination_country, "country of destination"),
    ST(gw_consignment, loading, location_d, "place of loading"),
    ST(gw_consignment, unloading, location_d, "place of unloading"),
    ST(gw_consignment, entry_point, location_d, "point of entry"),
    ST(gw_consignment, border_transport, transport_d, "active means of transport crossing the border"),
    ST(gw_consignment, departure_transport, transport_d, "means of transport at departure"),
    S(gw_consignment, incoterm, "Incoterms code"),
    ST(gw_consignment, invoice, amount_d, "total invoice amount"),
    S(gw_consignment, total_packages, "total number of packages"),
    S(gw_consignment, declared_items, "number of goods items the document states"),
    ST(gw_consignment, total_gross_weight, measure_d, "total gross mass"),
    AR(gw_consignment, parties, n_parties, party_d, "parties"),
    AR(gw_consignment, items, n_items, item_d, "goods items"),
    AR(gw_consignment, documents, n_documents, docref_d, "referenced documents"),
    AR(gw_consignment, equipment, n_equipment, equipment_d, "transport equipment (containers)"),
    ST(gw_consignment, sps, sps_d, "SPS certificate facts"),
    ST(gw_consignment, response, response_d, "response facts"),
    AR(gw_consignment, remarks, n_remarks, note_d, "remarks"),
    END};
const gw_struct_desc gw_consignment_desc = {"consignment", sizeof(gw_consignment), consignment_f};

/* ---- free ------------------------------------------------------------------ */

void gw_model_free_struct(const gw_struct_desc *d, void *obj) {
  if (!obj) return;
  for (const gw_field *f = d->fields; f->name; f++) {
    char *p = (char *)obj + f->offset;
    switch (f->type) {
    case GW_FT_STR:
      free(*(char **)p);
      *(char **)p = NULL;
      break;
    case GW_FT_STRUCT:
      gw_model_free_struct(f->sub, p);
      break;
    case GW_FT_ARRAY: {
      char *arr = *(char **)p;
      size_t *n = (size_t *)((char *)obj + f->count_offset);
      for (size_t i = 0; i < *n; i++) gw_model_free_struct(f->sub, arr + i * f->sub->size);
      free(arr);
      *(char **)p = NULL;
      *n = 0;
      break;
    }
    }
  }
}

void gw_model_free(gw_consignment *c) { gw_model_free_struct(&gw_consignment_desc, c); }

/* ---- building -------------------------------------------------------------- */

int gw_model_set(char **slot, const char *s, long n) {
  if (!s) return 0;
  size_t len = n < 0 ? strlen(s) : (size_t)n;
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  if (!len) return 0;
  char *c = malloc(len + 1);
  if (!c) return GW_ENOMEM;
  memcpy(c, s, len);
  c[len] = 0;
  free(*slot);
  *slot = c;
  return 0;
}

void *gw_model_push(void **arr, size_t *n, size_t elem_size) {
  /* Grow in powers of two so pushes stay amortised O(1); the capacity is
   * implied by n, so the struct needs no extra field. */
  size_t cap = 1;
  while (cap < *n) cap <<= 1;
  if (*n == 0 || *n == cap) {
    size_t ncap = *n == 0 ? 1 : cap * 2;
    void *g = realloc(*arr, ncap * elem_size);
    if (!g) return NULL;
    *arr = g;
  }
  char *e = (char *)*arr + *n * elem_size;
  memset(e, 0, elem_size);
  (*n)++;
  return e;
}

gw_party *gw_model_party(const gw_consignment *c, const char *role) {
  for (size_t i = 0; i < c->n_parties; i++)
    if (c->parties[i].role && !strcmp(c->parties[i].role, role)) return &c->parties[i];
  return NULL;
}

/* ---- walking --------------------------------------------------------------- */

static int cmp_struct(const gw_struct_desc *d, const void *a, const void *b, char *path, size_t plen,
                      size_t cap) {
  for (const gw_field *f = d->fields; f->name; f++) {
    const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
    int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    switch (f->type) {
    case GW_FT_STR: {
      const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
      if ((sa == NULL) != (sb == NULL) || (sa && strcmp(sa, sb))) return 1;
      break;
    }
    case GW_FT_STRUCT:
      if (cmp_struct(f->sub, pa, pb, path, l, cap)) return 1;
      break;
    case GW_FT_ARRAY: {
      size_t na = *(const size_t *)((const char *)a + f->count_offset);
      size_t nb = *(const size_t *)((const char *)b + f->count_offset);
      if (na != nb) {
        snprintf(path + l, cap - l, " (count %zu vs %zu)", na, nb);
        return 1;
      }
      const char *ea = *(char *const *)pa, *eb = *(char *const *)pb;
      for (size_t i = 0; i < na; i++) {
        int w2 = snprintf(path + l, cap - l, "[%zu]", i);
        size_t l2 = l + (w2 > 0 && (size_t)w2 < cap - l ? (size_t)w2 : 0);
        if (cmp_struct(f->sub, ea + i * f->sub->size, eb + i * f->sub->size, path, l2, cap)) return 1;
      }
      break;
    }
    }
    path[plen] = 0;
  }
  return 0;
}

int gw_model_compare(const gw_consignment *a, const gw_consignment *b, char *where, size_t where_len) {
  char path[512] = "";
  int r = cmp_struct(&gw_consignment_desc, a, b, path, 0, sizeof(path));
  if (where && where_len) snprintf(where, where_len, "%s", r ? path : "");
  return r;
}

static void visit_struct(const gw_struct_desc *d, const void *obj, char *path, size_t plen, size_t cap,
                         gw_model_visit_fn fn, void *ud) {
  for (const gw_field *f = d->fields; f->name; f++) {
    const char *p = (const char *)obj + f->offset;
    int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    switch (f->type) {
    case GW_FT_STR:
      if (*(char *const *)p) fn(path, *(char *const *)p, ud);
      break;
    case GW_FT_STRUCT:
      visit_struct(f->sub, p, path, l, cap, fn, ud);
      break;
    case GW_FT_ARRAY: {
      size_t n = *(const size_t *)((const char *)obj + f->count_offset);
      const char *e = *(char *const *)p;
      for (size_t i = 0; i < n; i++) {
        int w2 = snprintf(path + l, cap - l, "[%zu]", i);
        size_t l2 = l + (w2 > 0 && (size_t)w2 < cap - l ? (size_t)w2 : 0);
        visit_struct(f->sub, e + i * f->sub->size, path, l2, cap, fn, ud);
      }
      break;
    }
    }
    path[plen] = 0;
  }
}

void gw_model_visit(const gw_consignment *c, gw_model_visit_fn fn, void *ud) {
  char path[512] = "";
  visit_struct(&gw_consignment_desc, c, path, 0, sizeof(path), fn, ud);
}

static void count_cb(const char *path, const char *value, void *ud) {
  (void)path, (void)value;
  (*(size_t *)ud)++;
}

size_t gw_model_count_fields(const gw_consignment *c) {
  size_t n = 0;
  gw_model_visit(c, count_cb, &n);
  return n;
}

/* ---- canonical order --------------------------------------------------------- */

static int role_rank(const char *role) {
  static const char *const order[] = {GW_ROLE_EXPORTER, GW_ROLE_IMPORTER, GW_ROLE_CONSIGNOR, GW_ROLE_CONSIGNEE,
                                      GW_ROLE_DECLARANT, GW_ROLE_CARRIER, GW_ROLE_AUTHORITY};
  for (int i = 0; role && i < 7; i++)
    if (!strcmp(role, order[i])) return i;
  return 7;
}

void gw_model_normalize(gw_consignment *c) {
  /* Insertion sort: stable, and there are a handful of parties at most. */
  for (size_t i = 1; i < c->n_parties; i++) {
    gw_party x = c->parties[i];
    size_t j = i;
    while (j > 0 && role_rank(c->parties[j - 1].role) > role_rank(x.role)) {
      c->parties[j] = c->parties[j - 1];
      j--;
    }
    c->parties[j] = x;
  }
}
