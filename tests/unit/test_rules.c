/* Business rules and code lists: a realistic declaration and a Thai
 * phytosanitary certificate pass clean; each rule fires on one change, with
 * its code, severity and canonical path; the code tables hold what they
 * should and are sorted for binary search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "pipeline/problems.h"
#include "rules/codes.h"
#include "rules/rules.h"

#define NOW 1795867200LL /* 2026-11-28T12:00:00Z */

static void set(char **slot, const char *v) {
  free(*slot);
  *slot = NULL;
  if (v) assert_int_equal(gw_model_set(slot, v, -1), 0);
}

static gw_party *party(gw_consignment *c, const char *role, const char *name, const char *country) {
  gw_party *p = GW_MODEL_PUSH(c->parties, c->n_parties);
  assert_non_null(p);
  set(&p->role, role);
  set(&p->name, name);
  set(&p->address.country, country);
  return p;
}

static gw_item *item(gw_consignment *c, const char *seq, const char *hs, const char *gross, const char *net) {
  gw_item *it = GW_MODEL_PUSH(c->items, c->n_items);
  assert_non_null(it);
  set(&it->sequence, seq);
  set(&it->hs_code, hs);
  set(&it->gross_weight.value, gross);
  set(&it->gross_weight.unit, "KGM");
  set(&it->net_weight.value, net);
  set(&it->net_weight.unit, "KGM");
  set(&it->origin_country, "TH");
  set(&it->package_type, "CT");
  set(&it->package_count, "400");
  return it;
}

/* Export declaration: Thai fresh durian by road from Laem Chabang to Hanoi. */
static void fixture_declaration(gw_consignment *c) {
  memset(c, 0, sizeof(*c));
  set(&c->kind, GW_KIND_DECLARATION);
  set(&c->type_code, "EX");
  set(&c->function_code, "9");
  set(&c->lrn, "TH-EX-2026-000417");
  set(&c->ucr, "6TH0105536000417-DUR1128");
  set(&c->issued_at, "2026-11-28T08:30:00+07:00");
  set(&c->export_country, "TH");
  set(&c->import_country, "VN");
  set(&c->destination_country, "VN");
  set(&c->loading.code, "THLCH");
  set(&c->loading.country, "TH");
  set(&c->unloading.code, "VNHAN");
  set(&c->entry_point.code, "0101"); /* a customs office code, not a locode */
  set(&c->border_transport.mode, "3");
  set(&c->border_transport.nationality, "TH");
  set(&c->invoice.value, "48250.00");
  set(&c->invoice.currency, "USD");
  set(&c->total_packages, "800");
  set(&c->declared_items, "2");
  set(&c->total_gross_weight.value, "9.9");
  set(&c->total_gross_weight.unit, "TNE");
  party(c, GW_ROLE_EXPORTER, "Chanthaburi Durian Export Co., Ltd.", "TH");
  party(c, GW_ROLE_IMPORTER, "Hanoi Fresh Fruit JSC", "VN");
  gw_item *a = item(c, "1", "081060", "5000", "4600");
  set(&a->description, "Fresh durian, Monthong");
  set(&a->value.value, "30000");
  set(&a->value.currency, "USD");
  set(&a->quantity.value, "4600");
  set(&a->quantity.unit, "KGM");
  gw_item *b = item(c, "2", "0810600010", "4900", "4500");
  set(&b->description, "Fresh durian, Chanee");
  gw_docref *d = GW_MODEL_PUSH(c->documents, c->n_documents);
  set(&d->type, "380");
  set(&d->id, "INV-2026-1128");
  set(&d->issued, "2026-11-27");
}

/* Phytosanitary certificate (851) for the same durian, with a treatment. */
static void fixture_sps(gw_consignment *c) {
  memset(c, 0, sizeof(*c));
  set(&c->kind, GW_KIND_SPS);
  set(&c->cert_id, "TH-PC-2026-118822");
  set(&c->issued_at, "2026-11-28");
  set(&c->export_country, "TH");
  set(&c->import_country, "VN");
  set(&c->declared_items, "1");
  set(&c->sps.cert_type, "851");
  set(&c->sps.status, "70");
  set(&c->sps.issued_at, "2026-11-28T09:00:00Z");
  set(&c->sps.signed_at, "2026-11-28T09:05:00Z");
  set(&c->entry_point.code, "VNLSN");
  set(&c->entry_point.country, "VN");
  party(c, GW_ROLE_AUTHORITY, "Department of Agriculture, Plant Quarantine", "TH");
  party(c, GW_ROLE_CONSIGNOR, "Chanthaburi Durian Export Co., Ltd.", "TH");
  party(c, GW_ROLE_CONSIGNEE, "Hanoi Fresh Fruit JSC", "VN");
  gw_item *a = item(c, "1", "081060", "5000", "4600");
  set(&a->commodity, "Durian");
  set(&a->scientific_name, "Durio zibethinus");
  gw_treatment *t = GW_MODEL_PUSH(a->treatments, a->n_treatments);
  set(&t->type, "fumigation");
  set(&t->chemical, "methyl bromide");
  set(&t->date, "2026-11-27");
}

static void print_problems(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    fprintf(stderr, "  %s %s %s: %s\n", p->items[i].severity, p->items[i].code, p->items[i].path, p->items[i].message);
}

static void fixtures_pass_clean(void **state) {
  (void)state;
  gw_consignment c;
  for (int k = 0; k < 2; k++) {
    if (k) fixture_sps(&c);
    else fixture_declaration(&c);
    gw_problems p = {0};
    int errors = gw_rules_check_at(&c, NOW, &p);
    print_problems(&p);
    assert_int_equal(errors, 0);
    assert_int_equal(p.n, 0);
    gw_problems_free(&p);
    gw_model_free(&c);
  }
}

/* A certificate of origin: its number, export country and each item's origin. */
static int has_code(const gw_problems *p, const char *code) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].code, code)) return 1;
  return 0;
}

static void certificate_of_origin(void **state) {
  (void)state;
  gw_consignment c;
  fixture_declaration(&c);
  set(&c.kind, GW_KIND_CO);
  set(&c.items[1].origin_country, NULL);
  gw_problems p = {0};
  gw_rules_check_at(&c, NOW, &p);
  print_problems(&p);
  assert_true(has_code(&p, "missing_cert_id"));
  assert_true(has_code(&p, "missing_origin"));
  gw_problems_free(&p);
  set(&c.cert_id, "E2026-TH-0188");
  set(&c.items[1].origin_country, "TH");
  assert_int_equal(gw_rules_check_at(&c, NOW, &p), 0);
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* ---- one case per rule ---------------------------------------------------- */

typedef struct rule_case {
  const char *name;
  int sps;                            /* base fixture: 0 declaration, 1 SPS */
  void (*mutate)(gw_consignment *c);
  const char *code, *severity, *path;
} rule_case;

static void m_kind(gw_consignment *c) { set(&c->kind, "invoice"); }
static void m_co_number(gw_consignment *c) { set(&c->kind, GW_KIND_CO); }
static void m_co_origin(gw_consignment *c) {
  set(&c->kind, GW_KIND_CO);
  set(&c->cert_id, "E2026-TH-0188");
  set(&c->items[0].origin_country, NULL);
}
static void m_country(gw_consignment *c) { set(&c->parties[1].address.country, "XX"); }
static void m_currency(gw_consignment *c) { set(&c->items[0].value.currency, "VNN"); }
static void m_unit(gw_consignment *c) { set(&c->items[0].quantity.unit, "KILO"); }
static void m_mass(gw_consignment *c) { set(&c->items[1].net_weight.unit, "LTR"); }
static void m_hs(gw_consignment *c) { set(&c->items[1].hs_code, "7710600010"); }
static void m_package(gw_consignment *c) { set(&c->items[0].package_type, "carton"); }
static void m_locode(gw_consignment *c) { set(&c->unloading.code, "VNHA1"); }
static void m_locode_cc(gw_consignment *c) { set(&c->loading.code, "KHPNH"); }
static void m_decimal(gw_consignment *c) { set(&c->invoice.value, "48,250.00"); }
static void m_negative(gw_consignment *c) { set(&c->items[1].gross_weight.value, "-4900"); }
static void m_integer(gw_consignment *c) { set(&c->total_packages, "800.5"); }
static void m_net(gw_consignment *c) {
  set(&c->items[1].gross_weight.value, "4.4");
  set(&c->items[1].gross_weight.unit, "TNE"); /* 4400 kg < 4500 kg net */
}
static void m_total(gw_consignment *c) { set(&c->total_gross_weight.value, "9.8"); } /* 9.9 t of items */
static void m_count(gw_consignment *c) { set(&c->declared_items, "3"); }
static void m_seq_dup(gw_consignment *c) { set(&c->items[1].sequence, "1"); }
static void m_seq_gap(gw_consignment *c) { set(&c->items[1].sequence, "3"); }
static void m_date(gw_consignment *c) { set(&c->documents[0].issued, "2026-02-29"); }
static void m_future(gw_consignment *c) { set(&c->issued_at, "2026-11-30T08:00:00Z"); }
static void m_signed(gw_consignment *c) { set(&c->sps.signed_at, "2026-11-27"); }
static void m_doc_after(gw_consignment *c) { set(&c->documents[0].issued, "2026-12-01"); }
static void m_function(gw_consignment *c) { set(&c->function_code, "A9"); }
static void m_cert_type(gw_consignment *c) { set(&c->sps.cert_type, "PHYTO"); }
static void m_party(gw_consignment *c) { set(&c->parties[0].role, GW_ROLE_CONSIGNOR); }
static void m_ref(gw_consignment *c) {
  set(&c->ucr, NULL);
  set(&c->lrn, NULL);
}
static void m_botanical(gw_consignment *c) { set(&c->items[0].scientific_name, NULL); }
static void m_authority(gw_consignment *c) { set(&c->parties[0].role, GW_ROLE_EXPORTER); }
static void m_export(gw_consignment *c) { set(&c->export_country, NULL); }
static void m_treatment(gw_consignment *c) { set(&c->items[0].treatments[0].type, NULL); }
static void m_response(gw_consignment *c) {
  set(&c->kind, GW_KIND_RESPONSE);
  set(&c->response.decision, "ACCEPTED");
}
static void m_same(gw_consignment *c) { set(&c->import_country, "TH"); }

static const rule_case cases[] = {
    {"unknown_kind", 0, m_kind, "unknown_kind", "error", "kind"},
    {"unknown_country", 0, m_country, "unknown_country", "error", "parties[1].address.country"},
    {"unknown_currency", 0, m_currency, "unknown_currency", "error", "items[0].value.currency"},
    {"unknown_unit", 0, m_unit, "unknown_unit", "error", "items[0].quantity.unit"},
    {"not_mass_unit", 0, m_mass, "not_mass_unit", "error", "items[1].net_weight.unit"},
    {"bad_hs_code", 0, m_hs, "bad_hs_code", "error", "items[1].hs_code"},
    {"bad_package_type", 0, m_package, "bad_package_type", "error", "items[0].package_type"},
    {"bad_locode", 0, m_locode, "bad_locode", "error", "unloading.code"},
    {"locode_country_mismatch", 0, m_locode_cc, "locode_country_mismatch", "error", "loading.code"},
    {"bad_decimal", 0, m_decimal, "bad_decimal", "error", "invoice.value"},
    {"negative_value", 0, m_negative, "negative_value", "error", "items[1].gross_weight.value"},
    {"bad_integer", 0, m_integer, "bad_integer", "error", "total_packages"},
    {"net_above_gross", 0, m_net, "net_above_gross", "error", "items[1].net_weight.value"},
    {"items_gross_above_total", 0, m_total, "items_gross_above_total", "warning", "total_gross_weight.value"},
    {"item_count_mismatch", 0, m_count, "item_count_mismatch", "error", "declared_items"},
    {"bad_item_sequence_dup", 0, m_seq_dup, "bad_item_sequence", "error", "items[1].sequence"},
    {"bad_item_sequence_gap", 0, m_seq_gap, "bad_item_sequence", "error", "items[1].sequence"},
    {"bad_date", 0, m_date, "bad_date", "error", "documents[0].issued"},
    {"date_in_future", 0, m_future, "date_in_future", "error", "issued_at"},
    {"date_order_signed", 1, m_signed, "date_order", "error", "sps.signed_at"},
    {"date_order_document", 0, m_doc_after, "date_order", "warning", "documents[0].issued"},
    {"bad_function_code", 0, m_function, "bad_function_code", "error", "function_code"},
    {"bad_cert_type", 1, m_cert_type, "bad_cert_type", "error", "sps.cert_type"},
    {"missing_party", 0, m_party, "missing_party", "error", "parties"},
    {"missing_reference", 0, m_ref, "missing_reference", "error", "ucr"},
    {"missing_botanical_name", 1, m_botanical, "missing_botanical_name", "error", "items[0].scientific_name"},
    {"missing_authority", 1, m_authority, "missing_authority", "error", "parties"},
    {"missing_cert_id", 0, m_co_number, "missing_cert_id", "error", "cert_id"},
    {"missing_origin", 0, m_co_origin, "missing_origin", "error", "items[0].origin_country"},
    {"missing_export_country", 1, m_export, "missing_export_country", "error", "export_country"},
    {"missing_treatment_type", 1, m_treatment, "missing_treatment_type", "error", "items[0].treatments[0].type"},
    {"missing_response_status", 0, m_response, "missing_response_status", "error", "response.status"},
    {"same_export_import", 0, m_same, "same_export_import", "error", "import_country"},
};

/* Each case must raise exactly its one problem: rules that cascade would
 * bury the real cause under noise. */
static void rule_fires(void **state) {
  const rule_case *rc = *state;
  gw_consignment c;
  if (rc->sps) fixture_sps(&c);
  else fixture_declaration(&c);
  rc->mutate(&c);
  gw_problems p = {0};
  int errors = gw_rules_check_at(&c, NOW, &p);
  if (p.n != 1) print_problems(&p);
  assert_int_equal(p.n, 1);
  assert_string_equal(p.items[0].code, rc->code);
  assert_string_equal(p.items[0].severity, rc->severity);
  assert_string_equal(p.items[0].path, rc->path);
  assert_int_equal(p.items[0].line, 0);
  assert_true(strlen(p.items[0].message) > 10);
  assert_int_equal(errors, strcmp(rc->severity, "error") ? 0 : 1);
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* Every code a case checks is listed by gw_rules_codes, and every listed code
 * is exercised by at least one case. */
static void rule_codes_are_listed_and_tested(void **state) {
  (void)state;
  const char *const *codes = gw_rules_codes();
  size_t n = 0;
  for (; codes[n]; n += 2) {
    assert_non_null(codes[n + 1]);
    int tested = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) tested |= !strcmp(cases[i].code, codes[n]);
    if (!tested) fprintf(stderr, "rule %s has no test case\n", codes[n]);
    assert_true(tested);
  }
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int listed = 0;
    for (size_t k = 0; codes[k]; k += 2) listed |= !strcmp(cases[i].code, codes[k]);
    assert_true(listed);
  }
}

static void weights_convert_between_mass_units(void **state) {
  (void)state;
  gw_consignment c;
  fixture_declaration(&c);
  /* 4.6 t net against 5000 kg gross, 9 900 000 g total: all consistent. */
  set(&c.items[0].net_weight.value, "4.6");
  set(&c.items[0].net_weight.unit, "TNE");
  set(&c.total_gross_weight.value, "9900000");
  set(&c.total_gross_weight.unit, "GRM");
  gw_problems p = {0};
  assert_int_equal(gw_rules_check_at(&c, NOW, &p), 0);
  print_problems(&p);
  assert_int_equal(p.n, 0);
  /* Within the 0.5 % tolerance: 9.9 t of items against 9.86 t declared. */
  set(&c.total_gross_weight.value, "9.86");
  set(&c.total_gross_weight.unit, "TNE");
  assert_int_equal(gw_rules_check_at(&c, NOW, &p), 0);
  assert_int_equal(p.n, 0);
  gw_problems_free(&p);
  gw_model_free(&c);
}

static void many_problems_are_counted(void **state) {
  (void)state;
  gw_consignment c;
  fixture_declaration(&c);
  set(&c.export_country, "ZZ");
  set(&c.import_country, "QQ");
  set(&c.invoice.currency, "EURO");
  gw_problems p = {0};
  assert_int_equal(gw_rules_check_at(&c, NOW, &p), 3);
  assert_int_equal(p.n, 3);
  gw_problems_free(&p);
  gw_model_free(&c);
  /* An empty record: only the missing kind. */
  memset(&c, 0, sizeof(c));
  assert_int_equal(gw_rules_check(&c, &p), 1);
  assert_string_equal(p.items[0].code, "unknown_kind");
  gw_problems_free(&p);
}

/* ---- code lists ----------------------------------------------------------- */

static void tables_are_sorted(void **state) {
  (void)state;
  static const struct {
    gw_code_list which;
    size_t min;
  } lists[] = {{GW_CODES_COUNTRY, 249}, {GW_CODES_CURRENCY, 170}, {GW_CODES_UNIT, 1700}};
  for (size_t l = 0; l < 3; l++) {
    size_t n = 0;
    const char *const *t = gw_codes_table(lists[l].which, &n);
    assert_non_null(t);
    assert_true(n >= lists[l].min);
    for (size_t i = 1; i < n; i++) {
      if (strcmp(t[i - 1], t[i]) >= 0) fprintf(stderr, "table %zu not sorted at %s %s\n", l, t[i - 1], t[i]);
      assert_true(strcmp(t[i - 1], t[i]) < 0);
    }
  }
  size_t n;
  gw_codes_table(GW_CODES_COUNTRY, &n);
  assert_int_equal(n, 249);
}

static void country_currency_unit_spot_checks(void **state) {
  (void)state;
  const char *ok_c[] = {"TH", "VN", "KH", "LA", "MM", "CN", "AD", "ZW", "SS", "CW"};
  for (size_t i = 0; i < sizeof(ok_c) / sizeof(*ok_c); i++) assert_true(gw_codes_country(ok_c[i]));
  const char *bad_c[] = {"XX", "th", "UK", "EU", "AN", "1A", "XI", "THA", "", "T"};
  for (size_t i = 0; i < sizeof(bad_c) / sizeof(*bad_c); i++) assert_false(gw_codes_country(bad_c[i]));
  assert_false(gw_codes_country(NULL));

  const char *ok_cur[] = {"THB", "VND", "KHR", "LAK", "MMK", "CNY", "USD", "EUR", "XCG", "ZWG", "XAU"};
  for (size_t i = 0; i < sizeof(ok_cur) / sizeof(*ok_cur); i++) assert_true(gw_codes_currency(ok_cur[i]));
  const char *bad_cur[] = {"CNH", "HRK", "VEF", "ANG", "thb", "BAHT", "XXY"};
  for (size_t i = 0; i < sizeof(bad_cur) / sizeof(*bad_cur); i++) assert_false(gw_codes_currency(bad_cur[i]));

  const char *ok_u[] = {"KGM", "TNE", "LTR", "H87", "C62", "GRM", "LBR", "MTQ", "KMT", "X1", "10", "ZZ"};
  for (size_t i = 0; i < sizeof(ok_u) / sizeof(*ok_u); i++) assert_true(gw_codes_unit(ok_u[i]));
  /* KTM was deleted from Rec 20; XBX is a Rec 21 package code. */
  const char *bad_u[] = {"KG", "kgm", "KTM", "XBX", "PCS", ""};
  for (size_t i = 0; i < sizeof(bad_u) / sizeof(*bad_u); i++) assert_false(gw_codes_unit(bad_u[i]));

  double f = 0;
  assert_true(gw_codes_mass_unit("TNE", &f));
  assert_true(f == 1000.0);
  assert_true(gw_codes_mass_unit("LBR", &f));
  assert_true(f > 0.4535 && f < 0.4536);
  assert_false(gw_codes_mass_unit("LTR", &f));
  /* Every mass unit is a Rec 20 code. */
  const char *mass[] = {"2U", "DTN", "GRM", "KGM", "KTN", "LBR", "LTN", "MGM", "ONZ", "STN", "TNE"};
  for (size_t i = 0; i < sizeof(mass) / sizeof(*mass); i++) {
    assert_true(gw_codes_mass_unit(mass[i], NULL));
    assert_true(gw_codes_unit(mass[i]));
  }
}

static void shapes(void **state) {
  (void)state;
  assert_int_equal(gw_codes_hs_chapter("081060"), 8);
  assert_int_equal(gw_codes_hs_chapter("0901210000"), 9);
  assert_int_equal(gw_codes_hs_chapter("970110"), 97);
  assert_int_equal(gw_codes_hs_chapter("770100"), -1);
  assert_int_equal(gw_codes_hs_chapter("000100"), -1);
  assert_int_equal(gw_codes_hs_chapter("980100"), -1);
  assert_int_equal(gw_codes_hs_chapter("08106"), -1);
  assert_int_equal(gw_codes_hs_chapter("08106000101"), -1);
  assert_int_equal(gw_codes_hs_chapter("0810.60"), -1);
  assert_int_equal(gw_codes_hs_chapter(NULL), -1);
  assert_true(gw_codes_hs("10063099"));

  assert_true(gw_codes_locode("THLCH"));
  assert_true(gw_codes_locode("KHPNH"));
  assert_true(gw_codes_locode("LAVTE"));
  assert_true(gw_codes_locode("VNSG2"));
  assert_false(gw_codes_locode("VNSG1"));
  assert_false(gw_codes_locode("XXBKK"));
  assert_false(gw_codes_locode("THBK"));
  assert_false(gw_codes_locode("thbkk"));

  assert_true(gw_codes_package_type("CT"));
  assert_true(gw_codes_package_type("1A"));
  assert_false(gw_codes_package_type("ct"));
  assert_false(gw_codes_package_type("BOX"));

  assert_true(gw_codes_msg_function("9"));
  assert_true(gw_codes_msg_function("69"));
  assert_false(gw_codes_msg_function("70"));
  assert_false(gw_codes_msg_function("0"));
  assert_false(gw_codes_msg_function("09"));
  assert_true(gw_codes_doc_name("851"));
  assert_true(gw_codes_doc_name("929"));
  assert_false(gw_codes_doc_name("8510"));
  assert_false(gw_codes_doc_name("PC"));

  const char *ok_d[] = {"2026-11-28", "2024-02-29", "2000-02-29", "2026-11-28T08:30:00", "2026-11-28T08:30:00Z",
                        "2026-11-28T08:30:00.125+07:00", "2026-11-28T08:30", "2026-11-28T08:30:00-0330"};
  for (size_t i = 0; i < sizeof(ok_d) / sizeof(*ok_d); i++) assert_true(gw_codes_datetime(ok_d[i], NULL));
  const char *bad_d[] = {"2026-02-29", "1900-02-29", "2026-13-01", "2026-04-31", "2026-11-28T24:00:00",
                         "2026-11-28 08:30:00", "28/11/2026", "20261128", "2026-11-28T08:30:00+", "2026-1-28",
                         "2026-11-28T08:30:00ZZ", ""};
  for (size_t i = 0; i < sizeof(bad_d) / sizeof(*bad_d); i++) {
    if (gw_codes_datetime(bad_d[i], NULL)) fprintf(stderr, "accepted %s\n", bad_d[i]);
    assert_false(gw_codes_datetime(bad_d[i], NULL));
  }
  assert_true(gw_codes_date("2026-11-28"));
  assert_false(gw_codes_date("2026-11-28T00:00:00Z"));
  long long t = 0;
  assert_true(gw_codes_datetime("1970-01-02", &t));
  assert_int_equal(t, 86400);
  assert_true(gw_codes_datetime("2026-11-28T19:00:00+07:00", &t));
  assert_int_equal(t, NOW);

  const char *ok_n[] = {"0", "12", "12.5", "-3.25", "0.001", "48250.00"};
  for (size_t i = 0; i < sizeof(ok_n) / sizeof(*ok_n); i++) assert_true(gw_codes_decimal(ok_n[i]));
  const char *bad_n[] = {"", "-", ".5", "5.", "+5", "1e3", "1,5", "1 000", "12.5kg", "--1", "0x10"};
  for (size_t i = 0; i < sizeof(bad_n) / sizeof(*bad_n); i++) assert_false(gw_codes_decimal(bad_n[i]));
}

/* An amendment carries only what changes: no parties, fewer items than the
 * original stated, and still no error. */
static void amendments_need_not_repeat_everything(void **state) {
  (void)state;
  gw_consignment bare = {0};
  set(&bare.kind, "declaration");
  set(&bare.function_code, "13");
  set(&bare.ucr, "6TH0105536000123-DUR0001");
  set(&bare.declared_items, "7");
  gw_problems p = {0};
  assert_int_equal(gw_rules_check_at(&bare, NOW, &p), 0);
  set(&bare.function_code, "9");
  assert_int_equal(gw_rules_check_at(&bare, NOW, &p), 2); /* missing_party, item_count_mismatch */
  gw_problems_free(&p);
  gw_model_free(&bare);
}

int main(void) {
  struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 16];
  size_t n = 0;
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(fixtures_pass_clean);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(certificate_of_origin);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(rule_fires, (void *)&cases[i]);
    tests[n++].name = cases[i].name;
  }
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(rule_codes_are_listed_and_tested);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(weights_convert_between_mass_units);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(many_problems_are_counted);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(tables_are_sorted);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(amendments_need_not_repeat_everything);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(country_currency_unit_spot_checks);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(shapes);
  return _cmocka_run_group_tests("rules", tests, n, NULL, NULL);
}
