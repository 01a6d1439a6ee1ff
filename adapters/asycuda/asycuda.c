/* lmcgw — adapter "asycuda": the ASYCUDA World detailed declaration (SAD)
 * XML, as Cambodia's (GDCE) and Laos's customs run it.
 *
 * The file has no namespace and no published schema; element names
 * (historical misspellings included) and their order are those of UNCTAD's
 * "SAD - XML Message Description" as national exports show them. The subset
 * lmcgw accepts is schemas/asycuda/lmcgw-asycuda.xsd, which checks structure
 * only: a value element may hold text, nothing, or <null/>, so the shapes of
 * numbers and dates are checked here, with the path of the offending element.
 *
 * Decode reads by name in any order, maps all three empty forms to "absent",
 * accepts the national variants the XSD lets through (Jamaica-style
 * Assessment_notice, Nepal's write_off_unit, Namibia's UCR...), reads dates
 * as M/D/YY (month first; YY is 20YY), M/D/YYYY or YYYY-MM-DD, writes Java
 * exponent numbers (9.9999999E7) as plain decimals without going through
 * double, and warns, without failing, where the file contradicts itself
 * (declared item count, package and invoice totals).
 *
 * Encode writes one form: the full skeleton in the exported order, with
 * the stub counts of the Albania/Nepal configuration (14 Item_tax_total, 8
 * Global_tax_item, 8 Taxation_line, 3 Supplementary_unit per item), <null/>
 * for an empty text or code and an empty element for an empty number, date
 * or boolean, dates as M/D/YY without leading zeros, and Identification/UCR
 * (an optional national element) for the UCR.
 *
 * Mapping conventions (lmcgw's, as the SAD has no direct equivalent):
 * - a trader block (Exporter_name, Consignee_name, Declarant_name) is
 *   "name LF address line LF city LF country": empty positions are empty
 *   lines, the country is written only as an ISO alpha-2 code, and on
 *   decode a last line of two capital letters is the country, the line
 *   before it the city and lines between them the address line;
 * - Type_of_declaration = type_code followed by type_extra ("EX", "IMR");
 * - hs_code = Commodity_code followed by Precision_1 while that makes at
 *   most 10 digits; a national suffix of zeros past that ("000") is dropped;
 * - an item's value is its invoice price (Item_price, currency of
 *   Item_Invoice), not the statistical value in national currency;
 * - weights are kilograms (KGM); Transport/Border_office is the exit office;
 * - the SAD has no message function: decode says 9 (original).
 *
 * Ownership: decode fills the caller's consignment; encode returns a new
 * xmlDoc the caller frees. No state: both are reentrant. */
#include <ctype.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"

#define AS_ROOT "ASYCUDA"
#define AS_XSD "asycuda/lmcgw-asycuda.xsd"
/* Largest exponent written out as a plain decimal; larger ones are refused
 * rather than expanded into megabytes of zeros. */
#define AS_MAX_EXP 40

/* ---- shared: numbers and dates ---------------------------------------------- */

/* Checks a decimal ([-]digits[.digits][E[+-]digits]) and writes it as plain
 * decimal text to out (cap bytes). Returns 0, or -1 when it is no number or
 * too long. The digits are moved, never converted, so no value changes. */
static int adapter_asycuda_decimal(const char *s, char *out, size_t cap) {
  const char *p = s;
  int neg = 0;
  if (*p == '-') neg = 1, p++;
  char digits[128];
  size_t nd = 0, point = 0;
  int seen_point = 0;
  if (!isdigit((unsigned char)*p)) return -1;
  for (; *p && *p != 'e' && *p != 'E'; p++) {
    if (*p == '.') {
      if (seen_point || !isdigit((unsigned char)p[1])) return -1;
      seen_point = 1;
      continue;
    }
    if (!isdigit((unsigned char)*p) || nd + 1 >= sizeof(digits)) return -1;
    digits[nd++] = *p;
    if (!seen_point) point++;
  }
  if (!*p) { /* plain: unchanged */
    if (strlen(s) + 1 > cap) return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
  }
  p++;
  int esign = 1;
  if (*p == '+' || *p == '-') esign = *p == '-' ? -1 : 1, p++;
  if (!isdigit((unsigned char)*p)) return -1;
  long e = 0;
  for (; *p; p++) {
    if (!isdigit((unsigned char)*p) || e > AS_MAX_EXP) return -1;
    e = e * 10 + (*p - '0');
  }
  if (e > AS_MAX_EXP) return -1;
  long pos = (long)point + esign * e; /* digits before the point after shifting */
  char buf[256];
  size_t n = 0;
  if (neg) buf[n++] = '-';
  if (pos <= 0) {
    buf[n++] = '0';
    buf[n++] = '.';
    for (long i = 0; i < -pos; i++) buf[n++] = '0';
    for (size_t i = 0; i < nd; i++) buf[n++] = digits[i];
  } else {
    for (long i = 0; i < pos; i++) buf[n++] = (size_t)i < nd ? digits[i] : '0';
    if ((size_t)pos < nd) {
      buf[n++] = '.';
      for (size_t i = (size_t)pos; i < nd; i++) buf[n++] = digits[i];
    }
  }
  buf[n] = 0;
  /* Leading zeros the shift left behind ("0099" from 0.099E2). */
  char *q = buf + neg;
  size_t lead = 0;
  while (q[lead] == '0' && isdigit((unsigned char)q[lead + 1])) lead++;
  memmove(q, q + lead, strlen(q + lead) + 1);
  if (strlen(buf) + 1 > cap) return -1;
  memcpy(out, buf, strlen(buf) + 1);
  return 0;
}

static int adapter_asycuda_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int adapter_asycuda_real_date(int y, int m, int d) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  return d <= days[m - 1] + (m == 2 && adapter_asycuda_leap(y));
}

/* Reads up to max digits; returns how many, 0 when none. */
static int adapter_asycuda_digits(const char **s, int max, int *v) {
  int n = 0;
  *v = 0;
  while (n < max && isdigit((unsigned char)**s)) *v = *v * 10 + (*(*s)++ - '0'), n++;
  return isdigit((unsigned char)**s) ? 0 : n;
}

/* M/D/YY, M/D/YYYY or YYYY-MM-DD -> YYYY-MM-DD in iso[11]. 0 or -1. */
static int adapter_asycuda_date_in(const char *s, char *iso) {
  int y, m, d;
  const char *p = s;
  if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
    if (adapter_asycuda_digits(&p, 4, &y) != 4 || *p++ != '-' || adapter_asycuda_digits(&p, 2, &m) != 2 ||
        *p++ != '-' || adapter_asycuda_digits(&p, 2, &d) != 2 || *p)
      return -1;
  } else {
    int ny;
    if (!adapter_asycuda_digits(&p, 2, &m) || *p++ != '/' || !adapter_asycuda_digits(&p, 2, &d) || *p++ != '/')
      return -1;
    ny = adapter_asycuda_digits(&p, 4, &y);
    if ((ny != 2 && ny != 4) || *p) return -1;
    if (ny == 2) y += 2000; /* ASYCUDA World dates are this century */
  }
  if (!adapter_asycuda_real_date(y, m, d)) return -1;
  snprintf(iso, 11, "%04d-%02d-%02d", y, m, d);
  return 0;
}

/* ---- decode ------------------------------------------------------------------- */

typedef struct as_dec {
  gw_problems *p;
  int rc;     /* first GW_ENOMEM */
  int errors; /* bad values found */
} as_dec;

static void adapter_asycuda_path(xmlNodePtr n, char *buf, size_t len) {
  xmlNodePtr chain[40];
  int k = 0;
  for (xmlNodePtr x = n; x && x->type == XML_ELEMENT_NODE && k < 40; x = x->parent) chain[k++] = x;
  size_t off = 0;
  buf[0] = 0;
  for (int i = k - 1; i >= 0 && off < len; i--) {
    int idx = 0, total = 0;
    for (xmlNodePtr s = chain[i]->parent ? chain[i]->parent->children : chain[i]; s; s = s->next)
      if (s->type == XML_ELEMENT_NODE && !xmlStrcmp(s->name, chain[i]->name)) {
        total++;
        if (s == chain[i]) idx = total;
      }
    int w = total > 1 ? snprintf(buf + off, len - off, "/%s[%d]", (const char *)chain[i]->name, idx)
                      : snprintf(buf + off, len - off, "/%s", (const char *)chain[i]->name);
    if (w < 0) break;
    off += (size_t)w;
  }
}

static void adapter_asycuda_problem(as_dec *d, xmlNodePtr at, const char *code, const char *sev, const char *fmt,
                                    ...) __attribute__((format(printf, 5, 6)));
static void adapter_asycuda_problem(as_dec *d, xmlNodePtr at, const char *code, const char *sev, const char *fmt,
                                    ...) {
  char msg[400], path[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  adapter_asycuda_path(at, path, sizeof(path));
  gw_problems_add(d->p, code, sev, at ? (long)xmlGetLineNo(at) : 0, path, "%s", msg);
  if (!strcmp(sev, "error")) d->errors++;
}

static void adapter_asycuda_nomem(as_dec *d, int rc) {
  if (rc && !d->rc) d->rc = rc;
}

/* The element at a "/"-separated path of names below base, NULL if absent. */
static xmlNodePtr adapter_asycuda_at(xmlNodePtr base, const char *path) {
  char name[64];
  while (base && *path) {
    size_t l = strcspn(path, "/");
    if (l >= sizeof(name)) return NULL;
    memcpy(name, path, l);
    name[l] = 0;
    base = gw_ad_child(base, name);
    path += l + (path[l] == '/');
  }
  return base;
}

/* Raw text of a value element (malloc'd, untrimmed), NULL when it is
 * absent, empty or <null/>. <null/> next to text is an error. */
static char *adapter_asycuda_raw(as_dec *d, xmlNodePtr n) {
  if (!n) return NULL;
  int has_null = 0;
  for (xmlNodePtr c = n->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST "null")) has_null = 1;
  xmlChar *t = xmlNodeGetContent(n);
  if (!t) {
    adapter_asycuda_nomem(d, GW_ENOMEM);
    return NULL;
  }
  const char *s = (const char *)t;
  while (*s && isspace((unsigned char)*s)) s++;
  if (!*s) {
    xmlFree(t);
    return NULL;
  }
  if (has_null) {
    adapter_asycuda_problem(d, n, "bad_null", "error",
                            "<null/> must be the only content of an empty value, but text '%.40s' sits next to it", s);
    xmlFree(t);
    return NULL;
  }
  char *r = strdup((const char *)t);
  xmlFree(t);
  if (!r) adapter_asycuda_nomem(d, GW_ENOMEM);
  return r;
}

/* Trimmed text value into *slot (left untouched when there is none). */
static void adapter_asycuda_str(as_dec *d, xmlNodePtr base, const char *path, char **slot) {
  xmlNodePtr n = adapter_asycuda_at(base, path);
  char *v = adapter_asycuda_raw(d, n);
  if (v) adapter_asycuda_nomem(d, gw_model_set(slot, v, -1));
  free(v);
}

/* A number into *slot as plain decimal text; count: a whole number written
 * with a zero fraction ("9.0") loses the fraction. */
static void adapter_asycuda_num(as_dec *d, xmlNodePtr base, const char *path, char **slot, int count) {
  xmlNodePtr n = adapter_asycuda_at(base, path);
  char *v = adapter_asycuda_raw(d, n), *t = NULL;
  if (!v) return;
  adapter_asycuda_nomem(d, gw_model_set(&t, v, -1));
  char out[256];
  if (t && adapter_asycuda_decimal(t, out, sizeof(out))) {
    adapter_asycuda_problem(d, n, "bad_number", "error",
                            "'%.60s' is not a number (digits with an optional '.' fraction and E exponent)", t);
  } else if (t) {
    char *dot = count ? strchr(out, '.') : NULL;
    if (dot && strspn(dot + 1, "0") == strlen(dot + 1)) *dot = 0;
    adapter_asycuda_nomem(d, gw_model_set(slot, out, -1));
  }
  free(t);
  free(v);
}

static void adapter_asycuda_date(as_dec *d, xmlNodePtr base, const char *path, char **slot) {
  xmlNodePtr n = adapter_asycuda_at(base, path);
  char *v = adapter_asycuda_raw(d, n), *t = NULL;
  if (!v) return;
  adapter_asycuda_nomem(d, gw_model_set(&t, v, -1));
  char iso[11];
  if (t && adapter_asycuda_date_in(t, iso))
    adapter_asycuda_problem(d, n, "bad_date", "error",
                            "'%.40s' is not a real date in ASYCUDA's M/D/YY form (month first; M/D/YYYY and "
                            "YYYY-MM-DD are also read)",
                            t);
  else if (t)
    adapter_asycuda_nomem(d, gw_model_set(slot, iso, -1));
  free(t);
  free(v);
}

/* A weight in kilograms. */
static void adapter_asycuda_kg(as_dec *d, xmlNodePtr base, const char *path, gw_measure *m) {
  adapter_asycuda_num(d, base, path, &m->value, 0);
  if (m->value) adapter_asycuda_nomem(d, gw_model_set(&m->unit, "KGM", -1));
}

static int adapter_asycuda_is_cc(const char *s, size_t n) {
  return n == 2 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]);
}

/* "name LF line LF city LF CC" (see the top of the file) into a party. */
static void adapter_asycuda_party(as_dec *d, xmlNodePtr code, xmlNodePtr block, const char *role, gw_consignment *c) {
  char *id = NULL, *raw = adapter_asycuda_raw(d, block);
  char *idraw = adapter_asycuda_raw(d, code);
  if (idraw) adapter_asycuda_nomem(d, gw_model_set(&id, idraw, -1));
  free(idraw);
  if (!id && !raw) return;
  gw_party *pt = GW_MODEL_PUSH(c->parties, c->n_parties);
  if (!pt) {
    adapter_asycuda_nomem(d, GW_ENOMEM);
    free(id);
    free(raw);
    return;
  }
  adapter_asycuda_nomem(d, gw_model_set(&pt->role, role, -1));
  pt->id = id;
  if (!raw) return;
  /* Lines, with \r\n tolerated; trailing empty lines carry nothing. */
  const char *line[64];
  size_t len[64], n = 0;
  for (const char *s = raw; n < 64;) {
    size_t l = strcspn(s, "\n");
    size_t t = l;
    while (t && isspace((unsigned char)s[t - 1])) t--;
    const char *b = s;
    while (b < s + t && isspace((unsigned char)*b)) b++;
    line[n] = b;
    len[n++] = (size_t)(s + t - b);
    if (!s[l]) break;
    s += l + 1;
  }
  while (n > 1 && !len[n - 1]) n--;
  adapter_asycuda_nomem(d, gw_model_set(&pt->name, line[0], (long)len[0]));
  size_t first = 1, last = n; /* address lines are [first, last) */
  if (last > first && adapter_asycuda_is_cc(line[last - 1], len[last - 1])) {
    last--;
    adapter_asycuda_nomem(d, gw_model_set(&pt->address.country, line[last], 2));
  }
  if (last - first >= 2) {
    last--;
    adapter_asycuda_nomem(d, gw_model_set(&pt->address.city, line[last], (long)len[last]));
  }
  size_t total = 1;
  for (size_t i = first; i < last; i++) total += len[i] + 2;
  char *joined = malloc(total);
  if (joined) joined[0] = 0;
  else adapter_asycuda_nomem(d, GW_ENOMEM);
  for (size_t i = first, o = 0; joined && i < last; i++) {
    if (!len[i]) continue;
    if (o) memcpy(joined + o, ", ", 2), o += 2;
    memcpy(joined + o, line[i], len[i]);
    o += len[i];
    joined[o] = 0;
  }
  if (joined && last > first) adapter_asycuda_nomem(d, gw_model_set(&pt->address.line, joined, -1));
  free(joined);
  free(raw);
}

static void adapter_asycuda_docs(as_dec *d, xmlNodePtr item, gw_item *it) {
  for (xmlNodePtr a = item->children; a; a = a->next) {
    if (a->type != XML_ELEMENT_NODE || xmlStrcmp(a->name, BAD_CAST "Attached_documents")) continue;
    gw_docref tmp = {0};
    adapter_asycuda_str(d, a, "Attached_document_code", &tmp.type);
    adapter_asycuda_str(d, a, "Attached_document_reference", &tmp.id);
    adapter_asycuda_date(d, a, "Attached_document_date", &tmp.issued);
    if (!tmp.type && !tmp.id && !tmp.issued) continue; /* an empty skeleton */
    gw_docref *r = GW_MODEL_PUSH(it->documents, it->n_documents);
    if (!r) {
      adapter_asycuda_nomem(d, GW_ENOMEM);
      free(tmp.type), free(tmp.id), free(tmp.issued);
      return;
    }
    *r = tmp;
  }
}

static void adapter_asycuda_hs(as_dec *d, xmlNodePtr hs, gw_item *it) {
  char *code = NULL, *prec = NULL;
  adapter_asycuda_str(d, hs, "Commodity_code", &code);
  adapter_asycuda_str(d, hs, "Precision_1", &prec);
  if (code && prec && strlen(code) + strlen(prec) <= 10) {
    char b[16];
    snprintf(b, sizeof(b), "%s%s", code, prec);
    adapter_asycuda_nomem(d, gw_model_set(&it->hs_code, b, -1));
    free(code);
  } else {
    if (code && prec && strspn(prec, "0") != strlen(prec))
      adapter_asycuda_problem(d, adapter_asycuda_at(hs, "Precision_1"), "lossy_field", "warning",
                              "national subdivision '%s' of %s does not fit a 10-digit HS code; it is left out", prec,
                              code);
    it->hs_code = code;
  }
  free(prec);
}

static void adapter_asycuda_item(as_dec *d, xmlNodePtr x, size_t idx, gw_consignment *c) {
  gw_item *it = GW_MODEL_PUSH(c->items, c->n_items);
  if (!it) {
    adapter_asycuda_nomem(d, GW_ENOMEM);
    return;
  }
  char seq[24];
  snprintf(seq, sizeof(seq), "%zu", idx + 1);
  adapter_asycuda_nomem(d, gw_model_set(&it->sequence, seq, -1));
  adapter_asycuda_docs(d, x, it);
  xmlNodePtr pk = gw_ad_child(x, "Packages");
  adapter_asycuda_num(d, pk, "Number_of_packages", &it->package_count, 1);
  adapter_asycuda_str(d, pk, "Kind_of_packages_code", &it->package_type);
  char *m1 = NULL, *m2 = NULL;
  adapter_asycuda_str(d, pk, "Marks1_of_packages", &m1);
  adapter_asycuda_str(d, pk, "Marks2_of_packages", &m2);
  if (m1 && m2) {
    size_t l = strlen(m1) + strlen(m2) + 2;
    char *j = malloc(l);
    if (j) snprintf(j, l, "%s %s", m1, m2);
    else adapter_asycuda_nomem(d, GW_ENOMEM);
    it->package_marks = j;
    free(m1), free(m2);
  } else {
    it->package_marks = m1 ? m1 : m2;
  }
  xmlNodePtr tar = gw_ad_child(x, "Tarification");
  adapter_asycuda_hs(d, gw_ad_child(tar, "HScode"), it);
  for (xmlNodePtr su = tar ? tar->children : NULL; su; su = su->next) {
    if (su->type != XML_ELEMENT_NODE || xmlStrcmp(su->name, BAD_CAST "Supplementary_unit")) continue;
    adapter_asycuda_num(d, su, "Suppplementary_unit_quantity", &it->quantity.value, 0);
    adapter_asycuda_str(d, su, "Suppplementary_unit_code", &it->quantity.unit);
    if (it->quantity.value || it->quantity.unit) break; /* the first one in use */
  }
  xmlNodePtr vi = gw_ad_child(x, "Valuation_item");
  adapter_asycuda_num(d, tar, "Item_price", &it->value.value, 0);
  if (!it->value.value) adapter_asycuda_num(d, vi, "Item_Invoice/Amount_foreign_currency", &it->value.value, 0);
  adapter_asycuda_str(d, vi, "Item_Invoice/Currency_code", &it->value.currency);
  xmlNodePtr gd = gw_ad_child(x, "Goods_description");
  adapter_asycuda_str(d, gd, "Country_of_origin_code", &it->origin_country);
  adapter_asycuda_str(d, gd, "Commercial_Description", &it->description);
  if (!it->description) adapter_asycuda_str(d, gd, "Description_of_goods", &it->description);
  adapter_asycuda_kg(d, vi, "Weight_itm/Gross_weight_itm", &it->gross_weight);
  adapter_asycuda_kg(d, vi, "Weight_itm/Net_weight_itm", &it->net_weight);
}

/* Sum of one number over the items; 0 when any item lacks it. */
static int adapter_asycuda_sum(const gw_consignment *c, size_t off, double *sum) {
  *sum = 0;
  if (!c->n_items) return 0;
  for (size_t i = 0; i < c->n_items; i++) {
    const char *v = *(char *const *)((const char *)&c->items[i] + off);
    char *end;
    if (!v) return 0;
    *sum += strtod(v, &end);
    if (*end) return 0;
  }
  return 1;
}

static int adapter_asycuda_differ(const char *stated, double sum) {
  char *end;
  double v = strtod(stated, &end);
  if (*end) return 0;
  double tol = 1e-6 * (v > sum ? v : sum) + 0.005;
  return v - sum > tol || sum - v > tol;
}

/* Where the file contradicts itself: warnings, the data is kept as stated. */
static void adapter_asycuda_consistency(as_dec *d, xmlNodePtr root, gw_consignment *c) {
  if (c->declared_items) {
    char *end;
    long n = strtol(c->declared_items, &end, 10);
    if (!*end && (n < 0 || (size_t)n != c->n_items))
      adapter_asycuda_problem(d, adapter_asycuda_at(root, "Property/Nbers/Total_number_of_items"),
                              "declared_items_mismatch", "warning",
                              "the declaration states %s item(s) but holds %zu Item element(s)", c->declared_items,
                              c->n_items);
  }
  double sum;
  if (c->total_packages && adapter_asycuda_sum(c, offsetof(gw_item, package_count), &sum) &&
      adapter_asycuda_differ(c->total_packages, sum))
    adapter_asycuda_problem(d, adapter_asycuda_at(root, "Property/Nbers/Total_number_of_packages"),
                            "total_packages_mismatch", "warning",
                            "the declaration states %s package(s) but its items add up to %.15g", c->total_packages,
                            sum);
  if (c->invoice.value && adapter_asycuda_sum(c, offsetof(gw_item, value.value), &sum) &&
      adapter_asycuda_differ(c->invoice.value, sum))
    adapter_asycuda_problem(d, adapter_asycuda_at(root, "Valuation/Gs_Invoice/Amount_foreign_currency"),
                            "total_invoice_mismatch", "warning",
                            "the invoice total is %s but the item prices add up to %.15g", c->invoice.value, sum);
}

static int adapter_asycuda_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *c,
                                  gw_problems *p) {
  (void)a;
  xmlNodePtr root = in && in->doc ? xmlDocGetRootElement(in->doc) : NULL;
  if (!root) {
    gw_problems_add(p, "no_document", "error", 0, "", "asycuda decodes parsed XML documents only (no document given)");
    return GW_EINVAL;
  }
  if (xmlStrcmp(root->name, BAD_CAST AS_ROOT) || root->ns) {
    gw_problems_add(p, "unknown_document", "error", (long)xmlGetLineNo(root), "/",
                    "root {%s}%s is not an ASYCUDA World declaration (<ASYCUDA> without namespace)",
                    root->ns && root->ns->href ? (const char *)root->ns->href : "", (const char *)root->name);
    return GW_EUNSUPPORTED;
  }
  as_dec d = {.p = p};
  static const char *const segments[] = {"Property",  "Identification", "Traders",  "Declarant",
                                         "General_information", "Transport", "Valuation"};
  for (size_t i = 0; i < sizeof(segments) / sizeof(segments[0]); i++)
    if (!gw_ad_child(root, segments[i])) {
      gw_problems_add(p, "missing_element", "error", (long)xmlGetLineNo(root), "/ASYCUDA",
                      "an ASYCUDA declaration needs the segment %s", segments[i]);
      d.errors++;
    }
  if (!adapter_asycuda_at(root, "Identification/Type/Type_of_declaration")) {
    gw_problems_add(p, "missing_element", "error", (long)xmlGetLineNo(root), "/ASYCUDA/Identification/Type",
                    "an ASYCUDA declaration needs Identification/Type/Type_of_declaration");
    d.errors++;
  }
  if (d.errors) return GW_ESCHEMA;

  adapter_asycuda_nomem(&d, gw_model_set(&c->kind, GW_KIND_DECLARATION, -1));
  adapter_asycuda_nomem(&d, gw_model_set(&c->function_code, "9", -1));
  char *type = NULL;
  adapter_asycuda_str(&d, root, "Identification/Type/Type_of_declaration", &type);
  if (type) {
    size_t n = strlen(type);
    adapter_asycuda_nomem(&d, gw_model_set(&c->type_code, type, n > 2 ? 2 : (long)n));
    if (n > 2) adapter_asycuda_nomem(&d, gw_model_set(&c->type_extra, type + 2, -1));
    free(type);
  } else {
    char *flow = NULL;
    adapter_asycuda_str(&d, root, "Property/Sad_flow", &flow);
    if (flow && (!strcmp(flow, "E") || !strcmp(flow, "I")))
      adapter_asycuda_nomem(&d, gw_model_set(&c->type_code, *flow == 'E' ? "EX" : "IM", -1));
    free(flow);
  }
  adapter_asycuda_str(&d, root, "Declarant/Reference/Number", &c->lrn);
  adapter_asycuda_str(&d, root, "Identification/UCR", &c->ucr);
  adapter_asycuda_date(&d, root, "Property/Date_of_declaration", &c->issued_at);
  adapter_asycuda_str(&d, root, "Identification/Office_segment/Customs_clearance_office_code",
                      &c->declaration_office);
  adapter_asycuda_str(&d, root, "Transport/Border_office/Code", &c->exit_office);
  if (!c->exit_office) adapter_asycuda_str(&d, root, "Export_release/Actual_office_of_exit_code", &c->exit_office);
  xmlNodePtr country = adapter_asycuda_at(root, "General_information/Country");
  adapter_asycuda_str(&d, country, "Export/Export_country_code", &c->export_country);
  adapter_asycuda_str(&d, country, "Destination/Destination_country_code", &c->destination_country);

  xmlNodePtr tr = gw_ad_child(root, "Transport");
  adapter_asycuda_str(&d, tr, "Place_of_loading/Code", &c->loading.code);
  adapter_asycuda_str(&d, tr, "Place_of_loading/Name", &c->loading.name);
  adapter_asycuda_str(&d, tr, "Place_of_loading/Country", &c->loading.country);
  xmlNodePtr mt = gw_ad_child(tr, "Means_of_transport");
  adapter_asycuda_str(&d, mt, "Border_information/Identity", &c->border_transport.means_id);
  adapter_asycuda_str(&d, mt, "Border_information/Nationality", &c->border_transport.nationality);
  adapter_asycuda_str(&d, mt, "Border_information/Mode", &c->border_transport.mode);
  adapter_asycuda_str(&d, mt, "Departure_arrival_information/Identity", &c->departure_transport.means_id);
  adapter_asycuda_str(&d, mt, "Departure_arrival_information/Nationality", &c->departure_transport.nationality);
  adapter_asycuda_str(&d, mt, "Inland_mode_of_transport", &c->departure_transport.mode);
  char *flag = NULL;
  adapter_asycuda_str(&d, tr, "Container_flag", &flag);
  if (flag && (!strcmp(flag, "true") || !strcmp(flag, "false")))
    adapter_asycuda_nomem(&d, gw_model_set(&c->border_transport.container, *flag == 't' ? "1" : "0", -1));
  else if (flag)
    adapter_asycuda_problem(&d, gw_ad_child(tr, "Container_flag"), "bad_boolean", "error",
                            "Container_flag is '%.20s'; true or false expected", flag);
  free(flag);
  adapter_asycuda_str(&d, tr, "Delivery_terms/Code", &c->incoterm);

  xmlNodePtr val = gw_ad_child(root, "Valuation");
  adapter_asycuda_num(&d, val, "Gs_Invoice/Amount_foreign_currency", &c->invoice.value, 0);
  if (!c->invoice.value) adapter_asycuda_num(&d, val, "Total/Total_invoice", &c->invoice.value, 0);
  adapter_asycuda_str(&d, val, "Gs_Invoice/Currency_code", &c->invoice.currency);
  adapter_asycuda_kg(&d, val, "Weight/Gross_weight", &c->total_gross_weight);
  if (!c->total_gross_weight.value) adapter_asycuda_kg(&d, val, "Total/Total_weight", &c->total_gross_weight);
  adapter_asycuda_num(&d, root, "Property/Nbers/Total_number_of_packages", &c->total_packages, 1);
  adapter_asycuda_num(&d, root, "Property/Nbers/Total_number_of_items", &c->declared_items, 1);

  xmlNodePtr tdr = gw_ad_child(root, "Traders"), dcl = gw_ad_child(root, "Declarant");
  adapter_asycuda_party(&d, adapter_asycuda_at(tdr, "Exporter/Exporter_code"),
                        adapter_asycuda_at(tdr, "Exporter/Exporter_name"), GW_ROLE_EXPORTER, c);
  adapter_asycuda_party(&d, adapter_asycuda_at(tdr, "Consignee/Consignee_code"),
                        adapter_asycuda_at(tdr, "Consignee/Consignee_name"), GW_ROLE_CONSIGNEE, c);
  adapter_asycuda_party(&d, gw_ad_child(dcl, "Declarant_code"), gw_ad_child(dcl, "Declarant_name"),
                        GW_ROLE_DECLARANT, c);

  size_t ni = 0;
  for (xmlNodePtr x = root->children; x && !d.rc; x = x->next) {
    if (x->type != XML_ELEMENT_NODE) continue;
    if (!xmlStrcmp(x->name, BAD_CAST "Container")) {
      gw_equipment tmp = {0};
      adapter_asycuda_str(&d, x, "Container_identity", &tmp.id);
      adapter_asycuda_str(&d, x, "Container_type", &tmp.size_type);
      if (!tmp.id && !tmp.size_type) continue;
      gw_equipment *eq = GW_MODEL_PUSH(c->equipment, c->n_equipment);
      if (!eq) {
        free(tmp.id), free(tmp.size_type);
        adapter_asycuda_nomem(&d, GW_ENOMEM);
        break;
      }
      *eq = tmp;
    } else if (!xmlStrcmp(x->name, BAD_CAST "Item")) {
      adapter_asycuda_item(&d, x, ni++, c);
    }
  }
  /* The terms of delivery are the header's; items repeat them. */
  if (!c->incoterm && c->n_items) {
    for (xmlNodePtr x = root->children; x; x = x->next)
      if (x->type == XML_ELEMENT_NODE && !xmlStrcmp(x->name, BAD_CAST "Item")) {
        adapter_asycuda_str(&d, x, "IncoTerms/Code", &c->incoterm);
        break;
      }
  }
  if (!d.rc && !d.errors) adapter_asycuda_consistency(&d, root, c);
  if (d.rc) {
    gw_problems_add(p, "internal", "error", 0, "", "out of memory while decoding");
    return d.rc;
  }
  return d.errors ? GW_ESCHEMA : 0;
}

/* ---- encode ------------------------------------------------------------------- */

typedef struct as_enc {
  gw_problems *p;
  int rc;
} as_enc;

static void adapter_asycuda_fail(as_enc *e, int rc, const char *code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void adapter_asycuda_fail(as_enc *e, int rc, const char *code, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (!e->rc) e->rc = rc;
  gw_problems_add(e->p, code, "error", 0, path, "%s", msg);
}

static void adapter_asycuda_lost(as_enc *e, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void adapter_asycuda_lost(as_enc *e, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  gw_problems_add(e->p, "lossy_field", "warning", 0, path, "%s", msg);
}

static xmlNodePtr adapter_asycuda_el(as_enc *e, xmlNodePtr parent, const char *name) {
  xmlNodePtr n = parent ? xmlNewChild(parent, NULL, BAD_CAST name, NULL) : NULL;
  if (!n && parent && !e->rc) adapter_asycuda_fail(e, GW_ENOMEM, "internal", "", "out of memory while encoding");
  return n;
}

/* A text or code: its value, or <null/>. */
static void adapter_asycuda_t(as_enc *e, xmlNodePtr parent, const char *name, const char *v) {
  if (!parent) return;
  xmlNodePtr n = v ? xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST v) : adapter_asycuda_el(e, parent, name);
  if (!n) {
    if (!e->rc) adapter_asycuda_fail(e, GW_ENOMEM, "internal", "", "out of memory while encoding");
    return;
  }
  if (!v) adapter_asycuda_el(e, n, "null");
}

/* A number: its value (checked), or an empty element. */
static void adapter_asycuda_n(as_enc *e, xmlNodePtr parent, const char *name, const char *v, const char *field) {
  char out[256];
  if (v && adapter_asycuda_decimal(v, out, sizeof(out))) {
    adapter_asycuda_fail(e, GW_EINVAL, "unsupported_value", field ? field : "", "'%.60s' is not a number ASYCUDA can take",
                         v);
    v = NULL;
  }
  if (!parent) return;
  xmlNodePtr n = v ? xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST v) : adapter_asycuda_el(e, parent, name);
  if (!n && !e->rc) adapter_asycuda_fail(e, GW_ENOMEM, "internal", "", "out of memory while encoding");
}

/* An ISO date (or date-time, whose time is not written) as M/D/YY. */
static void adapter_asycuda_d(as_enc *e, xmlNodePtr parent, const char *name, const char *iso, const char *field) {
  char buf[16];
  const char *v = NULL;
  if (iso) {
    int y, m, d;
    const char *p = iso;
    int ok = adapter_asycuda_digits(&p, 4, &y) == 4 && *p++ == '-' && adapter_asycuda_digits(&p, 2, &m) == 2 &&
             *p++ == '-' && adapter_asycuda_digits(&p, 2, &d) == 2 && (!*p || *p == 'T') &&
             adapter_asycuda_real_date(y, m, d);
    if (!ok || y < 2000 || y > 2099) {
      adapter_asycuda_fail(e, GW_EINVAL, "unsupported_value", field ? field : "",
                           "date '%.40s' cannot be written as ASYCUDA's M/D/YY (a real date in 2000-2099 expected)",
                           iso);
    } else {
      if (*p) adapter_asycuda_lost(e, field ? field : "", "'%s': ASYCUDA dates have no time of day; only the date is written", iso);
      snprintf(buf, sizeof(buf), "%d/%d/%02d", m, d, y % 100);
      v = buf;
    }
  }
  if (!parent) return;
  xmlNodePtr n = v ? xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST v) : adapter_asycuda_el(e, parent, name);
  if (!n && !e->rc) adapter_asycuda_fail(e, GW_ENOMEM, "internal", "", "out of memory while encoding");
}

/* A weight: kilograms only. */
static void adapter_asycuda_w(as_enc *e, xmlNodePtr parent, const char *name, const gw_measure *m, const char *field) {
  const char *v = m->value;
  char path[128];
  if (v && m->unit && strcmp(m->unit, "KGM")) {
    snprintf(path, sizeof(path), "%s.unit", field);
    adapter_asycuda_lost(e, path, "ASYCUDA weights are in kilograms; %s %s is not written", v, m->unit);
    v = NULL;
  } else if (v && !m->unit) {
    snprintf(path, sizeof(path), "%s.unit", field);
    adapter_asycuda_lost(e, path, "weight %s has no unit; ASYCUDA weights are kilograms and it reads back as KGM", v);
  }
  snprintf(path, sizeof(path), "%s.value", field);
  adapter_asycuda_n(e, parent, name, v, path);
}

static void adapter_asycuda_stubs(as_enc *e, xmlNodePtr parent, const char *name, int n) {
  for (int i = 0; i < n; i++) adapter_asycuda_el(e, parent, name);
}

/* Amount_national_currency, Amount_foreign_currency, Currency_code,
 * Currency_name, Currency_rate: the foreign amount and its currency when
 * known (the national amount and the rate are customs' to fill). */
static void adapter_asycuda_currency(as_enc *e, xmlNodePtr parent, const char *name, const gw_amount *a,
                                     const char *field) {
  xmlNodePtr b = adapter_asycuda_el(e, parent, name);
  char path[128];
  snprintf(path, sizeof(path), "%s.value", field ? field : "");
  adapter_asycuda_n(e, b, "Amount_national_currency", NULL, NULL);
  adapter_asycuda_n(e, b, "Amount_foreign_currency", a ? a->value : NULL, path);
  adapter_asycuda_t(e, b, "Currency_code", a ? a->currency : NULL);
  adapter_asycuda_t(e, b, "Currency_name", NULL);
  adapter_asycuda_n(e, b, "Currency_rate", NULL, NULL);
}

static void adapter_asycuda_numbered(as_enc *e, xmlNodePtr parent, const char *name) {
  xmlNodePtr n = adapter_asycuda_el(e, parent, name);
  adapter_asycuda_t(e, n, "Serial_number", NULL);
  adapter_asycuda_n(e, n, "Number", NULL, NULL);
  adapter_asycuda_d(e, n, "Date", NULL, NULL);
}

/* The party block, the inverse of adapter_asycuda_party. */
static char *adapter_asycuda_block(const gw_party *pt, as_enc *e, const char *field) {
  char path[96];
  const gw_address *a = &pt->address;
  const char *cc = a->country;
  if (cc && !adapter_asycuda_is_cc(cc, strlen(cc))) {
    snprintf(path, sizeof(path), "%s.address.country", field);
    adapter_asycuda_lost(e, path, "country '%s' is not an ISO alpha-2 code; not written", cc);
    cc = NULL;
  }
  if (!pt->name && !a->line && !a->city && !cc) return NULL;
  size_t len = 8 + (pt->name ? strlen(pt->name) : 0) + (a->line ? strlen(a->line) : 0) + (a->city ? strlen(a->city) : 0);
  char *s = malloc(len);
  if (!s) return NULL;
  /* name [LF line LF city | LF line] [LF CC]: a city needs its line slot,
   * even empty, so that it is not read as the line. */
  snprintf(s, len, "%s", pt->name ? pt->name : "");
  if (a->city) snprintf(s + strlen(s), len - strlen(s), "\n%s\n%s", a->line ? a->line : "", a->city);
  else if (a->line) snprintf(s + strlen(s), len - strlen(s), "\n%s", a->line);
  if (cc) snprintf(s + strlen(s), len - strlen(s), "\n%s", cc);
  return s;
}

static void adapter_asycuda_trader(as_enc *e, xmlNodePtr parent, const char *code_el, const char *name_el,
                                   const gw_consignment *c, const gw_party *pt) {
  char field[32] = "";
  if (pt) snprintf(field, sizeof(field), "parties[%zu]", (size_t)(pt - c->parties));
  char *block = pt ? adapter_asycuda_block(pt, e, field) : NULL;
  if (pt && !block && (pt->name || pt->address.line || pt->address.city) && !e->rc)
    adapter_asycuda_fail(e, GW_ENOMEM, "internal", "", "out of memory while encoding");
  adapter_asycuda_t(e, parent, code_el, pt ? pt->id : NULL);
  adapter_asycuda_t(e, parent, name_el, block);
  free(block);
}

static void adapter_asycuda_check_parties(as_enc *e, const gw_consignment *c, const gw_party *used[3]) {
  for (size_t i = 0; i < c->n_parties; i++) {
    const gw_party *pt = &c->parties[i];
    if (pt == used[0] || pt == used[1] || pt == used[2]) continue;
    char path[48];
    snprintf(path, sizeof(path), "parties[%zu]", i);
    adapter_asycuda_lost(e, path,
                         "the SAD has a box for one exporter, one consignee and one declarant; this %s is not written",
                         pt->role ? pt->role : "party without role");
  }
}

static void adapter_asycuda_item_out(as_enc *e, xmlNodePtr root, const gw_consignment *c, size_t i) {
  const gw_item *it = &c->items[i];
  char f[96], seq[24];
  snprintf(seq, sizeof(seq), "%zu", i + 1);
  if (it->sequence && strcmp(it->sequence, seq)) {
    snprintf(f, sizeof(f), "items[%zu].sequence", i);
    adapter_asycuda_lost(e, f, "ASYCUDA numbers items by position; item %s is written as item %s", it->sequence, seq);
  }
  xmlNodePtr x = adapter_asycuda_el(e, root, "Item");
  char codes[512] = "";
  for (size_t j = 0; j < it->n_documents; j++) {
    const gw_docref *dr = &it->documents[j];
    xmlNodePtr a = adapter_asycuda_el(e, x, "Attached_documents");
    adapter_asycuda_t(e, a, "Attached_document_code", dr->type);
    adapter_asycuda_t(e, a, "Attached_document_name", NULL);
    adapter_asycuda_t(e, a, "Attached_document_reference", dr->id);
    snprintf(f, sizeof(f), "items[%zu].documents[%zu].issued", i, j);
    if (dr->issued) adapter_asycuda_d(e, a, "Attached_document_date", dr->issued, f);
    if (dr->type && strlen(codes) + strlen(dr->type) + 2 < sizeof(codes))
      snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes), "%s%s", codes[0] ? " " : "", dr->type);
  }
  xmlNodePtr pk = adapter_asycuda_el(e, x, "Packages");
  snprintf(f, sizeof(f), "items[%zu].package_count", i);
  adapter_asycuda_n(e, pk, "Number_of_packages", it->package_count, f);
  adapter_asycuda_t(e, pk, "Marks1_of_packages", it->package_marks);
  adapter_asycuda_t(e, pk, "Marks2_of_packages", NULL);
  adapter_asycuda_t(e, pk, "Kind_of_packages_code", it->package_type);
  adapter_asycuda_t(e, pk, "Kind_of_packages_name", NULL);
  xmlNodePtr inc = adapter_asycuda_el(e, x, "IncoTerms");
  adapter_asycuda_t(e, inc, "Code", c->incoterm);
  adapter_asycuda_t(e, inc, "Place", NULL);

  xmlNodePtr tar = adapter_asycuda_el(e, x, "Tarification");
  adapter_asycuda_t(e, tar, "Tarification_data", NULL);
  xmlNodePtr hs = adapter_asycuda_el(e, tar, "HScode");
  char cc[16] = "", prec[16] = "";
  if (it->hs_code) {
    size_t l = strlen(it->hs_code);
    if (l >= sizeof(cc)) {
      snprintf(f, sizeof(f), "items[%zu].hs_code", i);
      adapter_asycuda_fail(e, GW_EINVAL, "unsupported_value", f, "HS code '%.40s' is too long", it->hs_code);
    } else {
      snprintf(cc, sizeof(cc), "%.8s", it->hs_code);
      if (l > 8) snprintf(prec, sizeof(prec), "%s", it->hs_code + 8);
    }
  }
  adapter_asycuda_t(e, hs, "Commodity_code", cc[0] ? cc : NULL);
  adapter_asycuda_t(e, hs, "Precision_1", prec[0] ? prec : NULL);
  adapter_asycuda_t(e, hs, "Precision_2", NULL);
  adapter_asycuda_t(e, hs, "Precision_3", NULL);
  adapter_asycuda_t(e, hs, "Precision_4", NULL);
  adapter_asycuda_t(e, tar, "Preference_code", NULL);
  adapter_asycuda_t(e, tar, "Extended_customs_procedure", NULL);
  adapter_asycuda_t(e, tar, "National_customs_procedure", NULL);
  adapter_asycuda_t(e, tar, "Quota_code", NULL);
  xmlNodePtr q = adapter_asycuda_el(e, tar, "Quota");
  adapter_asycuda_t(e, q, "QuotaCode", NULL);
  adapter_asycuda_t(e, q, "QuotaId", NULL);
  adapter_asycuda_t(e, adapter_asycuda_el(e, q, "QuotaItem"), "ItmNbr", NULL);
  for (int k = 0; k < 3; k++) {
    xmlNodePtr su = adapter_asycuda_el(e, tar, "Supplementary_unit");
    const gw_measure *m = k == 0 ? &it->quantity : NULL;
    snprintf(f, sizeof(f), "items[%zu].quantity.value", i);
    adapter_asycuda_t(e, su, "Suppplementary_unit_code", m ? m->unit : NULL);
    adapter_asycuda_t(e, su, "Suppplementary_unit_name", NULL);
    adapter_asycuda_n(e, su, "Suppplementary_unit_quantity", m ? m->value : NULL, f);
  }
  snprintf(f, sizeof(f), "items[%zu].value.value", i);
  adapter_asycuda_n(e, tar, "Item_price", it->value.value, f);
  adapter_asycuda_t(e, tar, "Valuation_method_code", NULL);
  adapter_asycuda_t(e, tar, "Value_item", NULL);
  adapter_asycuda_t(e, tar, "Attached_doc_item", codes[0] ? codes : NULL);
  adapter_asycuda_t(e, tar, "A.I._code", NULL);

  xmlNodePtr gd = adapter_asycuda_el(e, x, "Goods_description");
  adapter_asycuda_t(e, gd, "Country_of_origin_code", it->origin_country);
  adapter_asycuda_t(e, gd, "Country_of_origin_region", NULL);
  adapter_asycuda_t(e, gd, "Description_of_goods", NULL);
  adapter_asycuda_t(e, gd, "Commercial_Description", it->description);
  xmlNodePtr pd = adapter_asycuda_el(e, x, "Previous_doc");
  adapter_asycuda_t(e, pd, "Summary_declaration", NULL);
  adapter_asycuda_t(e, pd, "Summary_declaration_sl", NULL);
  adapter_asycuda_t(e, pd, "Previous_document_reference", NULL);
  adapter_asycuda_t(e, pd, "Previous_warehouse_code", NULL);
  adapter_asycuda_t(e, x, "Licence_number", NULL);
  adapter_asycuda_n(e, x, "Amount_deducted_from_licence", NULL, NULL);
  adapter_asycuda_n(e, x, "Quantity_deducted_from_licence", NULL, NULL);
  adapter_asycuda_t(e, x, "Free_text_1", NULL);
  adapter_asycuda_t(e, x, "Free_text_2", NULL);
  xmlNodePtr tx = adapter_asycuda_el(e, x, "Taxation");
  adapter_asycuda_n(e, tx, "Item_taxes_amount", NULL, NULL);
  adapter_asycuda_n(e, tx, "Item_taxes_guaranted_amount", NULL, NULL);
  adapter_asycuda_t(e, tx, "Item_taxes_mode_of_payment", NULL);
  adapter_asycuda_n(e, tx, "Counter_of_normal_mode_of_payment", NULL, NULL);
  adapter_asycuda_n(e, tx, "Displayed_item_taxes_amount", NULL, NULL);
  for (int k = 0; k < 8; k++) {
    xmlNodePtr tl = adapter_asycuda_el(e, tx, "Taxation_line");
    adapter_asycuda_t(e, tl, "Duty_tax_code", NULL);
    adapter_asycuda_n(e, tl, "Duty_tax_Base", NULL, NULL);
    adapter_asycuda_n(e, tl, "Duty_tax_rate", NULL, NULL);
    adapter_asycuda_n(e, tl, "Duty_tax_amount", NULL, NULL);
    adapter_asycuda_t(e, tl, "Duty_tax_MP", NULL);
    adapter_asycuda_t(e, tl, "Duty_tax_Type_of_calculation", NULL);
  }
  xmlNodePtr vi = adapter_asycuda_el(e, x, "Valuation_item");
  xmlNodePtr wi = adapter_asycuda_el(e, vi, "Weight_itm");
  snprintf(f, sizeof(f), "items[%zu].gross_weight", i);
  adapter_asycuda_w(e, wi, "Gross_weight_itm", &it->gross_weight, f);
  snprintf(f, sizeof(f), "items[%zu].net_weight", i);
  adapter_asycuda_w(e, wi, "Net_weight_itm", &it->net_weight, f);
  static const char *const vnum[] = {"Total_cost_itm", "Total_CIF_itm", "Rate_of_adjustement", "Statistical_value",
                                     "Alpha_coeficient_of_apportionment"};
  for (size_t k = 0; k < 5; k++) adapter_asycuda_n(e, vi, vnum[k], NULL, NULL);
  snprintf(f, sizeof(f), "items[%zu].value", i);
  adapter_asycuda_currency(e, vi, "Item_Invoice", &it->value, f);
  static const char *const costs[] = {"item_external_freight", "item_internal_freight", "item_insurance",
                                      "item_other_cost", "item_deduction"};
  for (size_t k = 0; k < 5; k++) adapter_asycuda_currency(e, vi, costs[k], NULL, NULL);
  xmlNodePtr mv = adapter_asycuda_el(e, vi, "Market_valuer");
  adapter_asycuda_n(e, mv, "Rate", NULL, NULL);
  adapter_asycuda_t(e, mv, "Currency_code", NULL);
  adapter_asycuda_n(e, mv, "Currency_amount", NULL, NULL);
  adapter_asycuda_t(e, mv, "Basis_description", NULL);
  adapter_asycuda_n(e, mv, "Basis_amount", NULL, NULL);
}

static void adapter_asycuda_declaration_out(as_enc *e, xmlNodePtr root, const gw_consignment *c) {
  if (c->function_code && strcmp(c->function_code, "9"))
    adapter_asycuda_lost(e, "function_code",
                         "the SAD has no message function; function %s is not written and reads back as 9 (original)",
                         c->function_code);
  char type[32] = "";
  if (c->type_extra && (!c->type_code || strlen(c->type_code) != 2))
    adapter_asycuda_fail(e, GW_EINVAL, "unsupported_value", "type_extra",
                         "Type_of_declaration joins a 2-letter type and its extra code; '%s' with '%s' cannot be written",
                         c->type_code ? c->type_code : "", c->type_extra);
  else if ((c->type_code ? strlen(c->type_code) : 0) + (c->type_extra ? strlen(c->type_extra) : 0) >= sizeof(type))
    adapter_asycuda_fail(e, GW_EINVAL, "unsupported_value", "type_code", "declaration type is too long");
  else
    snprintf(type, sizeof(type), "%s%s", c->type_code ? c->type_code : "", c->type_extra ? c->type_extra : "");

  xmlNodePtr n = adapter_asycuda_el(e, root, "Export_release");
  adapter_asycuda_d(e, n, "Date_of_exit", NULL, NULL);
  adapter_asycuda_n(e, n, "Time_of_exit", NULL, NULL);
  adapter_asycuda_t(e, n, "Actual_office_of_exit_code", NULL);
  adapter_asycuda_t(e, n, "Actual_office_of_exit_name", NULL);
  adapter_asycuda_t(e, n, "Exit_reference", NULL);
  adapter_asycuda_t(e, n, "Comments", NULL);
  adapter_asycuda_stubs(e, adapter_asycuda_el(e, root, "Assessment_notice"), "Item_tax_total", 14);
  adapter_asycuda_stubs(e, adapter_asycuda_el(e, root, "Global_taxes"), "Global_tax_item", 8);

  xmlNodePtr pr = adapter_asycuda_el(e, root, "Property");
  const char *flow = !strncmp(type, "EX", 2) ? "E" : !strncmp(type, "IM", 2) ? "I" : NULL;
  adapter_asycuda_t(e, pr, "Sad_flow", flow);
  xmlNodePtr fo = adapter_asycuda_el(e, pr, "Forms");
  char forms[24];
  /* The first SAD page holds one item, each continuation page three. */
  snprintf(forms, sizeof(forms), "%zu", c->n_items > 1 ? 1 + (c->n_items + 1) / 3 : (size_t)1);
  adapter_asycuda_n(e, fo, "Number_of_the_form", "1", NULL);
  adapter_asycuda_n(e, fo, "Total_number_of_forms", forms, NULL);
  xmlNodePtr nb = adapter_asycuda_el(e, pr, "Nbers");
  adapter_asycuda_n(e, nb, "Number_of_loading_lists", NULL, NULL);
  adapter_asycuda_n(e, nb, "Total_number_of_items", c->declared_items, "declared_items");
  adapter_asycuda_n(e, nb, "Total_number_of_packages", c->total_packages, "total_packages");
  adapter_asycuda_t(e, pr, "Place_of_declaration", NULL);
  adapter_asycuda_d(e, pr, "Date_of_declaration", c->issued_at, "issued_at");
  adapter_asycuda_n(e, pr, "Selected_page", "1", NULL);

  xmlNodePtr id = adapter_asycuda_el(e, root, "Identification");
  xmlNodePtr os = adapter_asycuda_el(e, id, "Office_segment");
  adapter_asycuda_t(e, os, "Customs_clearance_office_code", c->declaration_office);
  adapter_asycuda_t(e, os, "Customs_Clearance_office_name", NULL);
  xmlNodePtr ty = adapter_asycuda_el(e, id, "Type");
  adapter_asycuda_t(e, ty, "Type_of_declaration", type[0] ? type : NULL);
  adapter_asycuda_t(e, ty, "Declaration_gen_procedure_code", NULL);
  adapter_asycuda_t(e, ty, "Type_of_transit_document", NULL);
  adapter_asycuda_t(e, id, "Manifest_reference_number", NULL);
  adapter_asycuda_t(e, id, "UCR", c->ucr);
  adapter_asycuda_numbered(e, id, "Registration");
  adapter_asycuda_numbered(e, id, "Assessment");
  adapter_asycuda_numbered(e, id, "receipt");

  const gw_party *used[3] = {gw_model_party(c, GW_ROLE_EXPORTER), gw_model_party(c, GW_ROLE_CONSIGNEE),
                             gw_model_party(c, GW_ROLE_DECLARANT)};
  adapter_asycuda_check_parties(e, c, used);
  xmlNodePtr trd = adapter_asycuda_el(e, root, "Traders");
  adapter_asycuda_trader(e, adapter_asycuda_el(e, trd, "Exporter"), "Exporter_code", "Exporter_name", c, used[0]);
  adapter_asycuda_trader(e, adapter_asycuda_el(e, trd, "Consignee"), "Consignee_code", "Consignee_name", c, used[1]);
  adapter_asycuda_trader(e, adapter_asycuda_el(e, trd, "Financial"), "Financial_code", "Financial_name", c, NULL);
  xmlNodePtr dc = adapter_asycuda_el(e, root, "Declarant");
  adapter_asycuda_trader(e, dc, "Declarant_code", "Declarant_name", c, used[2]);
  adapter_asycuda_t(e, dc, "Declarant_representative", NULL);
  adapter_asycuda_t(e, adapter_asycuda_el(e, dc, "Reference"), "Number", c->lrn);

  xmlNodePtr gi = adapter_asycuda_el(e, root, "General_information");
  xmlNodePtr co = adapter_asycuda_el(e, gi, "Country");
  adapter_asycuda_t(e, co, "Country_first_destination", NULL);
  adapter_asycuda_t(e, co, "Trading_country", NULL);
  xmlNodePtr ex = adapter_asycuda_el(e, co, "Export");
  adapter_asycuda_t(e, ex, "Export_country_code", c->export_country);
  adapter_asycuda_t(e, ex, "Export_country_name", NULL);
  adapter_asycuda_t(e, ex, "Export_country_region", NULL);
  xmlNodePtr de = adapter_asycuda_el(e, co, "Destination");
  adapter_asycuda_t(e, de, "Destination_country_code", c->destination_country);
  adapter_asycuda_t(e, de, "Destination_country_name", NULL);
  adapter_asycuda_t(e, de, "Destination_country_region", NULL);
  adapter_asycuda_t(e, co, "Country_of_origin_name", NULL);
  adapter_asycuda_n(e, gi, "Value_details", NULL, NULL);
  adapter_asycuda_t(e, gi, "CAP", NULL);
  adapter_asycuda_t(e, gi, "Additional_information", NULL);
  adapter_asycuda_t(e, gi, "Comments_free_text", NULL);

  xmlNodePtr tr = adapter_asycuda_el(e, root, "Transport");
  xmlNodePtr mt = adapter_asycuda_el(e, tr, "Means_of_transport");
  xmlNodePtr da = adapter_asycuda_el(e, mt, "Departure_arrival_information");
  adapter_asycuda_t(e, da, "Identity", c->departure_transport.means_id);
  adapter_asycuda_t(e, da, "Nationality", c->departure_transport.nationality);
  xmlNodePtr bi = adapter_asycuda_el(e, mt, "Border_information");
  adapter_asycuda_t(e, bi, "Identity", c->border_transport.means_id);
  adapter_asycuda_t(e, bi, "Nationality", c->border_transport.nationality);
  adapter_asycuda_t(e, bi, "Mode", c->border_transport.mode);
  adapter_asycuda_t(e, mt, "Inland_mode_of_transport", c->departure_transport.mode);
  const char *ctr = c->border_transport.container;
  if (ctr && strcmp(ctr, "0") && strcmp(ctr, "1")) {
    adapter_asycuda_lost(e, "border_transport.container", "container indicator '%s' is neither 1 nor 0; not written",
                         ctr);
    ctr = NULL;
  }
  if (ctr) xmlNewTextChild(tr, NULL, BAD_CAST "Container_flag", BAD_CAST(*ctr == '1' ? "true" : "false"));
  else adapter_asycuda_el(e, tr, "Container_flag");
  xmlNodePtr dt = adapter_asycuda_el(e, tr, "Delivery_terms");
  adapter_asycuda_t(e, dt, "Code", c->incoterm);
  adapter_asycuda_t(e, dt, "Place", NULL);
  adapter_asycuda_t(e, dt, "Situation", NULL);
  xmlNodePtr bo = adapter_asycuda_el(e, tr, "Border_office");
  adapter_asycuda_t(e, bo, "Code", c->exit_office);
  adapter_asycuda_t(e, bo, "Name", NULL);
  xmlNodePtr pl = adapter_asycuda_el(e, tr, "Place_of_loading");
  adapter_asycuda_t(e, pl, "Code", c->loading.code);
  adapter_asycuda_t(e, pl, "Name", c->loading.name);
  adapter_asycuda_t(e, pl, "Country", c->loading.country);
  adapter_asycuda_t(e, tr, "Location_of_goods", NULL);

  xmlNodePtr fi = adapter_asycuda_el(e, root, "Financial");
  xmlNodePtr ft = adapter_asycuda_el(e, fi, "Financial_transaction");
  adapter_asycuda_t(e, ft, "code1", NULL);
  adapter_asycuda_t(e, ft, "code2", NULL);
  xmlNodePtr bk = adapter_asycuda_el(e, fi, "Bank");
  static const char *const bank[] = {"Code", "Name", "Branch", "Reference"};
  for (size_t k = 0; k < 4; k++) adapter_asycuda_t(e, bk, bank[k], NULL);
  xmlNodePtr te = adapter_asycuda_el(e, fi, "Terms");
  adapter_asycuda_t(e, te, "Code", NULL);
  adapter_asycuda_t(e, te, "Description", NULL);
  adapter_asycuda_n(e, fi, "Total_invoice", NULL, NULL);
  adapter_asycuda_t(e, fi, "Deffered_payment_reference", NULL);
  adapter_asycuda_t(e, fi, "Mode_of_payment", NULL);
  xmlNodePtr am = adapter_asycuda_el(e, fi, "Amounts");
  adapter_asycuda_n(e, am, "Total_manual_taxes", NULL, NULL);
  adapter_asycuda_n(e, am, "Global_taxes", NULL, NULL);
  adapter_asycuda_n(e, am, "Totals_taxes", NULL, NULL);
  xmlNodePtr gu = adapter_asycuda_el(e, fi, "Guarantee");
  adapter_asycuda_t(e, gu, "Name", NULL);
  adapter_asycuda_n(e, gu, "Amount", NULL, NULL);
  adapter_asycuda_d(e, gu, "Date", NULL, NULL);
  xmlNodePtr xc = adapter_asycuda_el(e, gu, "Excluded_country");
  adapter_asycuda_t(e, xc, "Code", NULL);
  adapter_asycuda_t(e, xc, "Name", NULL);

  xmlNodePtr wh = adapter_asycuda_el(e, root, "Warehouse");
  adapter_asycuda_t(e, wh, "Identification", NULL);
  adapter_asycuda_n(e, wh, "Delay", NULL, NULL);
  xmlNodePtr ts = adapter_asycuda_el(e, root, "Transit");
  xmlNodePtr pp = adapter_asycuda_el(e, ts, "Principal");
  adapter_asycuda_t(e, pp, "Code", NULL);
  adapter_asycuda_t(e, pp, "Name", NULL);
  adapter_asycuda_t(e, pp, "Representative", NULL);
  xmlNodePtr sg = adapter_asycuda_el(e, ts, "Signature");
  adapter_asycuda_t(e, sg, "Place", NULL);
  adapter_asycuda_d(e, sg, "Date", NULL, NULL);
  xmlNodePtr td = adapter_asycuda_el(e, ts, "Destination");
  adapter_asycuda_t(e, td, "Office", NULL);
  adapter_asycuda_t(e, td, "Country", NULL);
  xmlNodePtr se = adapter_asycuda_el(e, ts, "Seals");
  adapter_asycuda_n(e, se, "Number", NULL, NULL);
  adapter_asycuda_t(e, se, "Identity", NULL);
  adapter_asycuda_t(e, ts, "Result_of_control", NULL);
  adapter_asycuda_d(e, ts, "Time_limit", NULL, NULL);
  adapter_asycuda_t(e, ts, "Officer_name", NULL);

  xmlNodePtr va = adapter_asycuda_el(e, root, "Valuation");
  adapter_asycuda_t(e, va, "Calculation_working_mode", NULL);
  adapter_asycuda_w(e, adapter_asycuda_el(e, va, "Weight"), "Gross_weight", &c->total_gross_weight,
                    "total_gross_weight");
  adapter_asycuda_n(e, va, "Total_cost", NULL, NULL);
  adapter_asycuda_n(e, va, "Total_CIF", NULL, NULL);
  adapter_asycuda_currency(e, va, "Gs_Invoice", &c->invoice, "invoice");
  static const char *const gcosts[] = {"Gs_external_freight", "Gs_internal_freight", "Gs_insurance", "Gs_other_cost",
                                       "Gs_deduction"};
  for (size_t k = 0; k < 5; k++) adapter_asycuda_currency(e, va, gcosts[k], NULL, NULL);
  xmlNodePtr tt = adapter_asycuda_el(e, va, "Total");
  adapter_asycuda_n(e, tt, "Total_invoice", c->invoice.value, "invoice.value");
  /* The unit was reported for Weight/Gross_weight already. */
  const gw_measure *tg = &c->total_gross_weight;
  adapter_asycuda_n(e, tt, "Total_weight", !tg->unit || !strcmp(tg->unit, "KGM") ? tg->value : NULL,
                    "total_gross_weight.value");

  for (size_t i = 0; i < c->n_equipment; i++) {
    const gw_equipment *q = &c->equipment[i];
    if (!q->id && !q->size_type) continue;
    xmlNodePtr ct = adapter_asycuda_el(e, root, "Container");
    char num[24];
    snprintf(num, sizeof(num), "%zu", i + 1);
    adapter_asycuda_n(e, ct, "Item_Number", num, NULL);
    adapter_asycuda_t(e, ct, "Container_identity", q->id);
    adapter_asycuda_t(e, ct, "Container_type", q->size_type);
    adapter_asycuda_t(e, ct, "Empty_full_indicator", NULL);
    adapter_asycuda_n(e, ct, "Gross_weight", NULL, NULL);
    adapter_asycuda_t(e, ct, "Goods_description", NULL);
    adapter_asycuda_t(e, ct, "Packages_type", NULL);
    adapter_asycuda_n(e, ct, "Packages_number", NULL, NULL);
    adapter_asycuda_n(e, ct, "Packages_weight", NULL, NULL);
  }
  for (size_t i = 0; i < c->n_items && !e->rc; i++) adapter_asycuda_item_out(e, root, c, i);
}

static int adapter_asycuda_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out,
                                  gw_problems *p) {
  (void)a;
  if (c->kind && strcmp(c->kind, GW_KIND_DECLARATION)) {
    gw_problems_add(p, "unsupported_kind", "error", 0, "kind", "asycuda writes declarations only, not '%s'", c->kind);
    return GW_EUNSUPPORTED;
  }
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST AS_ROOT, NULL) : NULL;
  if (!root) {
    xmlFreeDoc(doc);
    gw_problems_add(p, "internal", "error", 0, "", "out of memory while encoding");
    return GW_ENOMEM;
  }
  xmlDocSetRootElement(doc, root);
  doc->encoding = xmlStrdup(BAD_CAST "UTF-8");
  as_enc e = {.p = p};
  adapter_asycuda_declaration_out(&e, root, c);
  if (e.rc) {
    xmlFreeDoc(doc);
    return e.rc;
  }
  out->doc = doc;
  return 0;
}

/* ---- the adapter ---------------------------------------------------------------- */

static const gw_adapter_root adapter_asycuda_roots[] = {
    {AS_ROOT, "", GW_KIND_DECLARATION, AS_XSD},
    {NULL, NULL, NULL, NULL},
};

/* Both ways, per the mapping at the top of this file. Not carried: mrn,
 * import and dispatch country, unloading, entry point, the means types and
 * journey ids, header documents, remarks, party id schemes, postcodes,
 * subdivisions and contacts, item SPS facts and document issuers, seals,
 * and the importer, consignor and carrier roles (a party of those roles, or
 * a second one of a carried role, is reported lost as a whole). */
static const char *const adapter_asycuda_carries[] = {
    "parties.role=exporter", "parties.role=consignee", "parties.role=declarant",
    "declaration:type_code", "declaration:type_extra", "declaration:function_code", "declaration:lrn",
    "declaration:ucr", "declaration:issued_at", "declaration:declaration_office", "declaration:exit_office",
    "declaration:export_country", "declaration:destination_country", "declaration:loading.code",
    "declaration:loading.name", "declaration:loading.country", "declaration:border_transport.mode",
    "declaration:border_transport.means_id", "declaration:border_transport.nationality",
    "declaration:border_transport.container", "declaration:departure_transport.mode",
    "declaration:departure_transport.means_id", "declaration:departure_transport.nationality",
    "declaration:incoterm", "declaration:invoice.*", "declaration:total_packages", "declaration:declared_items",
    "declaration:total_gross_weight.*", "declaration:parties.role", "declaration:parties.id",
    "declaration:parties.name", "declaration:parties.address.line", "declaration:parties.address.city",
    "declaration:parties.address.country", "declaration:items.sequence", "declaration:items.hs_code",
    "declaration:items.description", "declaration:items.quantity.*", "declaration:items.gross_weight.*",
    "declaration:items.net_weight.*", "declaration:items.value.*", "declaration:items.origin_country",
    "declaration:items.package_type", "declaration:items.package_count", "declaration:items.package_marks",
    "declaration:items.documents.type", "declaration:items.documents.id", "declaration:items.documents.issued",
    "declaration:equipment.id", "declaration:equipment.size_type", NULL};

const gw_adapter gw_adapter_asycuda = {
    .abi = GW_ADAPTER_ABI,
    .name = "asycuda",
    .description = "ASYCUDA World detailed declaration (SAD) XML, as run by Cambodia's and Laos's customs",
    .media_type = "application/xml",
    .kinds = GW_KIND_DECLARATION,
    .roots = adapter_asycuda_roots,
    .carries = adapter_asycuda_carries,
    .detect = NULL,
    .decode = adapter_asycuda_decode,
    .encode = adapter_asycuda_encode,
    .init = NULL,
    .exit = NULL,
    .ctx = NULL,
};
