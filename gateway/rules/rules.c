/* lmcgw — business rules over the canonical model (see rules.h). */
#include "rules/rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/codes.h"

static const char *const rule_codes[] = {
    "unknown_kind", "kind is not declaration, response, sps_certificate or sps_acknowledgement",
    "unknown_country", "a country field is not an ISO 3166-1 alpha-2 code",
    "unknown_currency", "a currency is not an active ISO 4217 code",
    "unknown_unit", "a unit is not a UN/ECE Recommendation 20 code",
    "not_mass_unit", "a weight is given in a unit that is not a unit of mass",
    "bad_hs_code", "an HS code is not 6 to 10 digits of an HS chapter in use (01-97, not 77)",
    "bad_package_type", "a package type is not two characters [0-9A-Z] (UN/ECE Recommendation 21)",
    "bad_locode", "a 5-character location code is not a UN/LOCODE (ISO country + 3 of [A-Z2-9])",
    "locode_country_mismatch", "a UN/LOCODE's country differs from the location's country",
    "bad_decimal", "a value is not decimal text (digits, optional '.' and digits)",
    "negative_value", "a weight, quantity or amount is negative",
    "bad_integer", "a count or sequence number is not a non-negative whole number",
    "net_above_gross", "an item's net weight is above its gross weight",
    "items_gross_above_total", "warning: the items' gross weights add up to more than the total (0.5% tolerance)",
    "item_count_mismatch", "the declared number of items differs from the items present",
    "bad_item_sequence", "item sequence numbers are not 1..n without gaps or duplicates",
    "bad_date", "a date is not a real ISO 8601 date or date-time",
    "date_in_future", "an issue date lies more than one day after now",
    "date_order", "dates are out of order (signature before issue; warning: referenced document issued after)",
    "bad_function_code", "the message function is not a UN/EDIFACT 1225 code",
    "bad_cert_type", "the certificate type is not a UN/EDIFACT 1001 code (1 to 3 digits)",
    "missing_party", "a declaration names neither an exporter nor a declarant",
    "missing_reference", "a declaration has neither a UCR nor an LRN",
    "missing_botanical_name", "an item of a phytosanitary certificate (851) has no scientific name",
    "missing_authority", "an SPS certificate names no issuing authority",
    "missing_export_country", "an SPS certificate or a certificate of origin has no export country",
    "missing_cert_id", "a certificate of origin has no number",
    "missing_origin", "an item of a certificate of origin states no origin country",
    "missing_treatment_type", "a treatment does not say what treatment it was",
    "missing_response_status", "a response has no status",
    "same_export_import", "export and import country are the same",
    NULL};

const char *const *gw_rules_codes(void) { return rule_codes; }

typedef struct rules_ctx {
  gw_problems *p;
  int errors;
  long long now;
} rules_ctx;

static void rules_add(rules_ctx *x, const char *code, const char *sev, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void rules_add(rules_ctx *x, const char *code, const char *sev, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (!strcmp(sev, "error")) x->errors++;
  gw_problems_add(x->p, code, sev, 0, path, "%s", msg);
}

/* path = base + "." + field (base may be ""). */
static const char *rules_path(char *buf, size_t cap, const char *base, const char *field) {
  /* Paths are bounded by the model's depth; a cut one still names the place. */
  int n = snprintf(buf, cap, "%s%s%s", base, *base ? "." : "", field);
  if (n < 0 || (size_t)n >= cap) buf[cap - 1] = 0;
  return buf;
}

static void rules_country(rules_ctx *x, const char *v, const char *base, const char *field) {
  if (!v || gw_codes_country(v)) return;
  char path[256];
  rules_add(x, "unknown_country", "error", rules_path(path, sizeof(path), base, field),
            "'%s' is not an ISO 3166-1 alpha-2 country code", v);
}

static void rules_currency(rules_ctx *x, const char *v, const char *base) {
  if (!v || gw_codes_currency(v)) return;
  char path[256];
  rules_add(x, "unknown_currency", "error", rules_path(path, sizeof(path), base, "currency"),
            "'%s' is not an active ISO 4217 currency code", v);
}

/* Checks decimal text; returns 1 and the value when it parses. */
static int rules_decimal(rules_ctx *x, const char *v, const char *base, const char *field, double *out) {
  if (!v) return 0;
  char path[256];
  rules_path(path, sizeof(path), base, field);
  if (!gw_codes_decimal(v)) {
    rules_add(x, "bad_decimal", "error", path, "'%s' is not a decimal number", v);
    return 0;
  }
  double d = strtod(v, NULL);
  if (d < 0) {
    rules_add(x, "negative_value", "error", path, "value %s is negative", v);
    return 0;
  }
  if (out) *out = d;
  return 1;
}

/* Non-negative whole number; returns 1 and the value when it parses. */
static int rules_integer(rules_ctx *x, const char *v, const char *base, const char *field, long *out) {
  if (!v) return 0;
  char path[256];
  rules_path(path, sizeof(path), base, field);
  size_t n = strlen(v), i = 0;
  while (i < n && v[i] >= '0' && v[i] <= '9') i++;
  if (n == 0 || i != n || n > 9) {
    rules_add(x, "bad_integer", "error", path, "'%s' is not a whole number (0 or more)", v);
    return 0;
  }
  if (out) *out = strtol(v, NULL, 10);
  return 1;
}

/* A measure; mass = 1 when it is a weight. Returns 1 with the value in kg (for
 * mass units) or in its own unit in *val, and *kg = 1 when converted. */
static int rules_measure(rules_ctx *x, const gw_measure *m, const char *base, int mass, double *val, int *kg) {
  char path[256];
  int ok = rules_decimal(x, m->value, base, "value", val);
  *kg = 0;
  if (m->unit) {
    rules_path(path, sizeof(path), base, "unit");
    double f = 1;
    if (!gw_codes_unit(m->unit)) {
      rules_add(x, "unknown_unit", "error", path, "'%s' is not a UN/ECE Recommendation 20 unit code", m->unit);
      ok = 0;
    } else if (gw_codes_mass_unit(m->unit, &f)) {
      if (ok) *val *= f;
      *kg = 1;
    } else if (mass) {
      rules_add(x, "not_mass_unit", "error", path, "weight unit '%s' is not a unit of mass (KGM, GRM, TNE, LBR...)",
                m->unit);
      ok = 0;
    }
  }
  return ok;
}

static void rules_amount(rules_ctx *x, const gw_amount *a, const char *base) {
  rules_decimal(x, a->value, base, "value", NULL);
  rules_currency(x, a->currency, base);
}

static void rules_location(rules_ctx *x, const gw_location *l, const char *base) {
  char path[256];
  rules_country(x, l->country, base, "country");
  const char *code = l->code;
  /* Customs office codes share this field; only 5-character codes that start
   * with two letters claim to be UN/LOCODEs. */
  if (!code || strlen(code) != 5 || !(code[0] >= 'A' && code[0] <= 'Z') || !(code[1] >= 'A' && code[1] <= 'Z'))
    return;
  rules_path(path, sizeof(path), base, "code");
  if (!gw_codes_locode(code)) {
    rules_add(x, "bad_locode", "error", path,
              "'%s' is not a UN/LOCODE (ISO 3166 country + 3 characters of A-Z, 2-9)", code);
    return;
  }
  if (l->country && gw_codes_country(l->country) && strncmp(code, l->country, 2))
    rules_add(x, "locode_country_mismatch", "error", path, "UN/LOCODE '%s' is in %.2s but the location's country is %s",
              code, code, l->country);
}

/* Checks a date field; returns 1 and the instant when valid. */
static int rules_date(rules_ctx *x, const char *v, const char *base, const char *field, long long *t) {
  if (!v) return 0;
  char path[256];
  if (gw_codes_datetime(v, t)) return 1;
  rules_add(x, "bad_date", "error", rules_path(path, sizeof(path), base, field),
            "'%s' is not a valid ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ss[Z])", v);
  return 0;
}

static void rules_issue_date(rules_ctx *x, const char *v, const char *path, long long *t) {
  long long tt;
  if (!rules_date(x, v, "", path, &tt)) return;
  if (tt > x->now + 86400)
    rules_add(x, "date_in_future", "error", path, "issue date %s is more than one day in the future", v);
  if (t) *t = tt;
}

static void rules_documents(rules_ctx *x, const gw_docref *d, size_t n, const char *base, int have_issue,
                            long long issued) {
  char b[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(b, sizeof(b), "%s%sdocuments[%zu]", base, *base ? "." : "", i);
    long long t;
    if (rules_date(x, d[i].issued, b, "issued", &t) && have_issue && t > issued + 86400) {
      char path[300];
      rules_add(x, "date_order", "warning", rules_path(path, sizeof(path), b, "issued"),
                "referenced document %s is issued %s, after the document that refers to it",
                d[i].id ? d[i].id : "(no id)", d[i].issued);
    }
  }
}

static int rules_is_phyto(const gw_consignment *c) {
  const char *t = c->sps.cert_type ? c->sps.cert_type : c->type_code;
  return t && !strcmp(t, "851");
}

static void rules_items(rules_ctx *x, const gw_consignment *c, int have_issue, long long issued) {
  char b[64], path[128];
  int phyto = c->kind && !strcmp(c->kind, GW_KIND_SPS) && rules_is_phyto(c);
  size_t n = c->n_items, with_seq = 0;
  /* seen[k] = index+1 of the item numbered k+1, for duplicates. */
  size_t *seen = n ? calloc(n, sizeof(*seen)) : NULL;
  double gross_sum = 0;
  int gross_sum_ok = 1, any_gross = 0;
  for (size_t i = 0; i < n; i++) {
    const gw_item *it = &c->items[i];
    snprintf(b, sizeof(b), "items[%zu]", i);
    long seq;
    if (it->sequence) with_seq++;
    if (rules_integer(x, it->sequence, b, "sequence", &seq)) {
      rules_path(path, sizeof(path), b, "sequence");
      if (seq < 1 || (size_t)seq > n)
        rules_add(x, "bad_item_sequence", "error", path, "item sequence number %ld is outside 1..%zu", seq, n);
      else if (seen && seen[seq - 1])
        rules_add(x, "bad_item_sequence", "error", path, "item sequence number %ld is also used by items[%zu]", seq,
                  seen[seq - 1] - 1);
      else if (seen)
        seen[seq - 1] = i + 1;
    }
    if (it->hs_code && !gw_codes_hs(it->hs_code))
      rules_add(x, "bad_hs_code", "error", rules_path(path, sizeof(path), b, "hs_code"),
                "HS code '%s' is not 6 to 10 digits with a chapter in use (01-97 except 77)", it->hs_code);
    char mb[96];
    double q, g = 0, nw = 0;
    int qk, gk = 0, nk = 0;
    rules_measure(x, &it->quantity, rules_path(mb, sizeof(mb), b, "quantity"), 0, &q, &qk);
    int gok = rules_measure(x, &it->gross_weight, rules_path(mb, sizeof(mb), b, "gross_weight"), 1, &g, &gk);
    int nok = rules_measure(x, &it->net_weight, rules_path(mb, sizeof(mb), b, "net_weight"), 1, &nw, &nk);
    if (gok && nok) {
      /* Without units, or in the same non-mass unit, values compare as they are. */
      int comparable = (gk && nk) || (!gk && !nk && (!it->gross_weight.unit || !it->net_weight.unit ||
                                                     !strcmp(it->gross_weight.unit, it->net_weight.unit)));
      if (comparable && nw > g * (1 + 1e-12))
        rules_add(x, "net_above_gross", "error", rules_path(path, sizeof(path), b, "net_weight.value"),
                  "item %zu: net weight %s %s is above its gross weight %s %s", i + 1, it->net_weight.value,
                  it->net_weight.unit ? it->net_weight.unit : "", it->gross_weight.value,
                  it->gross_weight.unit ? it->gross_weight.unit : "");
    }
    if (it->gross_weight.value) {
      any_gross = 1;
      if (gok && gk) gross_sum += g;
      else gross_sum_ok = 0;
    }
    rules_amount(x, &it->value, rules_path(mb, sizeof(mb), b, "value"));
    rules_country(x, it->origin_country, b, "origin_country");
    if (it->package_type && !gw_codes_package_type(it->package_type))
      rules_add(x, "bad_package_type", "error", rules_path(path, sizeof(path), b, "package_type"),
                "package type '%s' is not a UN/ECE Recommendation 21 code (two characters 0-9, A-Z)",
                it->package_type);
    rules_integer(x, it->package_count, b, "package_count", NULL);
    if (phyto && !it->scientific_name)
      rules_add(x, "missing_botanical_name", "error", rules_path(path, sizeof(path), b, "scientific_name"),
                "phytosanitary certificate: item %zu (%s) has no botanical name", i + 1,
                it->commodity ? it->commodity : it->description ? it->description : "no description");
    for (size_t j = 0; j < it->n_treatments; j++) {
      char tb[128];
      snprintf(tb, sizeof(tb), "%s.treatments[%zu]", b, j);
      if (!it->treatments[j].type)
        rules_add(x, "missing_treatment_type", "error", rules_path(path, sizeof(path), tb, "type"),
                  "item %zu treatment %zu does not say which treatment was applied", i + 1, j + 1);
      rules_date(x, it->treatments[j].date, tb, "date", NULL);
    }
    rules_documents(x, it->documents, it->n_documents, b, have_issue, issued);
  }
  /* Numbering is all or nothing: a partly numbered list has gaps. */
  if (with_seq && with_seq < n)
    for (size_t i = 0; i < n; i++)
      if (!c->items[i].sequence) {
        snprintf(path, sizeof(path), "items[%zu].sequence", i);
        rules_add(x, "bad_item_sequence", "error", path, "item %zu has no sequence number while others have", i + 1);
      }
  free(seen);

  const gw_measure *tg = &c->total_gross_weight;
  double tot;
  int tk;
  if (rules_measure(x, tg, "total_gross_weight", 1, &tot, &tk) && tk && any_gross && gross_sum_ok &&
      gross_sum > tot * 1.005)
    rules_add(x, "items_gross_above_total", "warning", "total_gross_weight.value",
              "the items' gross weights add up to %.3f kg, more than the total gross weight %s %s", gross_sum,
              tg->value, tg->unit);

  long declared;
  /* An amendment or cancellation (UN/EDIFACT 1225 other than 9, original)
   * carries only what changes: its items need not be all there. */
  int original = !c->function_code || !strcmp(c->function_code, "9");
  if (rules_integer(x, c->declared_items, "", "declared_items", &declared) && original && (size_t)declared != n)
    rules_add(x, "item_count_mismatch", "error", "declared_items",
              "the document declares %ld item(s) but carries %zu", declared, n);
}

static void rules_transport(rules_ctx *x, const gw_transport *t, const char *base) {
  rules_country(x, t->nationality, base, "nationality");
}

int gw_rules_check_at(const gw_consignment *c, long long now_epoch, gw_problems *p) {
  rules_ctx x = {p, 0, now_epoch};
  char b[64];
  const char *kind = c->kind;
  int decl = 0, sps = 0, resp = 0, co = 0;
  if (!kind)
    rules_add(&x, "unknown_kind", "error", "kind", "the document kind is missing");
  else if (!strcmp(kind, GW_KIND_DECLARATION))
    decl = 1;
  else if (!strcmp(kind, GW_KIND_SPS))
    sps = 1;
  else if (!strcmp(kind, GW_KIND_RESPONSE))
    resp = 1;
  else if (!strcmp(kind, GW_KIND_CO))
    co = 1;
  else if (strcmp(kind, GW_KIND_SPS_ACK))
    rules_add(&x, "unknown_kind", "error", "kind", "'%s' is not a known document kind", kind);

  if (c->function_code && !gw_codes_msg_function(c->function_code))
    rules_add(&x, "bad_function_code", "error", "function_code",
              "'%s' is not a UN/EDIFACT 1225 message function code (1-69)", c->function_code);

  long long issued = 0;
  int have_issue = 0;
  if (c->issued_at) {
    long long t = 0;
    rules_issue_date(&x, c->issued_at, "issued_at", &t);
    if (gw_codes_datetime(c->issued_at, NULL)) have_issue = 1, issued = t;
  }

  rules_country(&x, c->export_country, "", "export_country");
  rules_country(&x, c->import_country, "", "import_country");
  rules_country(&x, c->dispatch_country, "", "dispatch_country");
  rules_country(&x, c->destination_country, "", "destination_country");
  if (c->export_country && c->import_country && !strcmp(c->export_country, c->import_country))
    rules_add(&x, "same_export_import", "error", "import_country",
              "export country and import country are both %s", c->export_country);

  rules_location(&x, &c->loading, "loading");
  rules_location(&x, &c->unloading, "unloading");
  rules_location(&x, &c->entry_point, "entry_point");
  rules_transport(&x, &c->border_transport, "border_transport");
  rules_transport(&x, &c->departure_transport, "departure_transport");
  rules_amount(&x, &c->invoice, "invoice");
  rules_integer(&x, c->total_packages, "", "total_packages", NULL);

  for (size_t i = 0; i < c->n_parties; i++) {
    snprintf(b, sizeof(b), "parties[%zu].address", i);
    rules_country(&x, c->parties[i].address.country, b, "country");
  }

  rules_items(&x, c, have_issue, issued);
  rules_documents(&x, c->documents, c->n_documents, "", have_issue, issued);

  if (decl) {
    int original = !c->function_code || !strcmp(c->function_code, "9");
    if (original && !gw_model_party(c, GW_ROLE_EXPORTER) && !gw_model_party(c, GW_ROLE_DECLARANT))
      rules_add(&x, "missing_party", "error", "parties", "a declaration must name an exporter or a declarant");
    if (!c->ucr && !c->lrn)
      rules_add(&x, "missing_reference", "error", "ucr", "a declaration must carry a UCR or an LRN");
  }

  /* SPS facts are checked wherever they appear; what a certificate must
   * contain only for certificates. */
  const gw_sps *s = &c->sps;
  if (s->cert_type && !gw_codes_doc_name(s->cert_type))
    rules_add(&x, "bad_cert_type", "error", "sps.cert_type",
              "certificate type '%s' is not a UN/EDIFACT 1001 document name code", s->cert_type);
  long long s_issued = 0, s_signed = 0;
  int si = 0, ss = 0;
  if (s->issued_at) {
    rules_issue_date(&x, s->issued_at, "sps.issued_at", &s_issued);
    si = gw_codes_datetime(s->issued_at, NULL);
  }
  ss = rules_date(&x, s->signed_at, "sps", "signed_at", &s_signed);
  /* Compared by calendar day: a certificate is signed on or after the day it
   * is issued, whatever time of day either carries. */
  if (si && ss && s_signed / 86400 < s_issued / 86400)
    rules_add(&x, "date_order", "error", "sps.signed_at", "the certificate is signed on %s, before it was issued on %s",
              s->signed_at, s->issued_at);
  if (sps) {
    if (!gw_model_party(c, GW_ROLE_AUTHORITY))
      rules_add(&x, "missing_authority", "error", "parties", "an SPS certificate must name its issuing authority");
    if (!c->export_country)
      rules_add(&x, "missing_export_country", "error", "export_country", "an SPS certificate must name the export country");
  }

  /* A certificate of origin (ASEAN-China Form E and the like) is matched to
   * the declaration by its number and proves where each item comes from. */
  if (co) {
    if (!c->cert_id)
      rules_add(&x, "missing_cert_id", "error", "cert_id", "a certificate of origin must carry its number (cert_id)");
    if (!c->export_country)
      rules_add(&x, "missing_export_country", "error", "export_country",
                "a certificate of origin must name the export country");
    for (size_t i = 0; i < c->n_items; i++)
      if (!c->items[i].origin_country) {
        snprintf(b, sizeof(b), "items[%zu].origin_country", i);
        rules_add(&x, "missing_origin", "error", b, "item %zu: a certificate of origin states each item's origin", i + 1);
      }
  }

  if (c->response.issued_at) rules_issue_date(&x, c->response.issued_at, "response.issued_at", NULL);
  if (resp && !c->response.status)
    rules_add(&x, "missing_response_status", "error", "response.status", "a response must carry a status");
  return x.errors;
}

int gw_rules_check(const gw_consignment *c, gw_problems *p) {
  return gw_rules_check_at(c, (long long)time(NULL), p);
}
