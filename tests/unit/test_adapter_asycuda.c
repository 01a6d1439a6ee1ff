/* asycuda adapter (ASYCUDA World SAD XML): goldens both ways, national
 * variants and value shapes, structure and value errors with their paths,
 * round trips, and the public corpus (a Jamaican export and template, and
 * the synthetic example of the corpus's STRUCTURE.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapters/adapter.h"
#include "model/json.h"
#include "pipeline/xml.h"
#include "testutil.h"

extern const gw_adapter gw_adapter_asycuda;
#define A (&gw_adapter_asycuda)

#define XSD LMCGW_SOURCE_DIR "/schemas/asycuda/lmcgw-asycuda.xsd"
#define GOLDEN LMCGW_SOURCE_DIR "/tests/golden/asycuda/"
#define EXAMPLES LMCGW_SOURCE_DIR "/examples/declarations/"
#define CORPUS LMCGW_CORPUS_DIR "/asycuda/"

static xmlSchemaPtr schema;

static int setup(void **state) {
  (void)state;
  /* Loaded before gw_xml_global_init, which refuses external loads. */
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(XSD);
  schema = pc ? xmlSchemaParse(pc) : NULL;
  xmlSchemaFreeParserCtxt(pc);
  if (!schema) return -1;
  gw_error err = {0};
  return gw_xml_global_init(&err);
}

static int teardown(void **state) {
  (void)state;
  xmlSchemaFree(schema);
  gw_xml_global_cleanup();
  return 0;
}

static int valid(xmlDocPtr doc) {
  xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
  assert_non_null(v);
  int rc = xmlSchemaValidateDoc(v, doc);
  xmlSchemaFreeValidCtxt(v);
  return rc == 0;
}

static void print_problems(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    fprintf(stderr, "  %s %s line %ld %s: %s\n", p->items[i].severity, p->items[i].code, p->items[i].line,
            p->items[i].path, p->items[i].message);
}

static const gw_problem *find_problem(const gw_problems *p, const char *code) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].code, code)) return &p->items[i];
  return NULL;
}

static int count_severity(const gw_problems *p, const char *sev) {
  int n = 0;
  for (size_t i = 0; i < p->n; i++) n += !strcmp(p->items[i].severity, sev);
  return n;
}

/* Parses (hardened), validates, decodes. *is_valid gets the XSD verdict. */
static int decode_text(const char *text, size_t len, gw_consignment *c, gw_problems *p, int *is_valid) {
  xmlDocPtr doc = NULL;
  int rc = gw_xml_parse(text, len, &doc, p);
  if (rc) return rc;
  int v = valid(doc);
  if (is_valid) *is_valid = v;
  gw_adapter_input in = {.data = text, .len = len, .doc = doc, .name = "test"};
  rc = A->decode(A, &in, c, p);
  xmlFreeDoc(doc);
  return rc;
}

/* Encodes, checks the result against the XSD, returns it formatted (malloc'd). */
static char *encode_text(const gw_consignment *c, gw_problems *p) {
  gw_adapter_output out = {0};
  int rc = A->encode(A, c, &out, p);
  if (rc) print_problems(p);
  assert_int_equal(rc, 0);
  assert_non_null(out.doc);
  if (!valid(out.doc)) {
    xmlDocFormatDump(stderr, out.doc, 1);
    fail_msg("encoded document is not valid against lmcgw-asycuda.xsd");
  }
  xmlChar *buf = NULL;
  int len = 0;
  xmlDocDumpFormatMemoryEnc(out.doc, &buf, &len, "UTF-8", 1);
  xmlFreeDoc(out.doc);
  char *s = strndup((const char *)buf, (size_t)len);
  xmlFree(buf);
  return s;
}

/* encode -> XSD -> decode -> the same model. */
static void round_trip(const gw_consignment *c, const char *label) {
  gw_problems p = {0}, p2 = {0};
  char *xml = encode_text(c, &p);
  gw_consignment again = {0};
  int v = 0;
  int rc = decode_text(xml, strlen(xml), &again, &p2, &v);
  if (rc) print_problems(&p2);
  assert_int_equal(rc, 0);
  assert_true(v);
  char where[256] = "";
  if (gw_model_compare(c, &again, where, sizeof where)) {
    fprintf(stderr, "%s\n", xml);
    fail_msg("%s: round trip differs at %s", label, where);
  }
  free(xml);
  gw_model_free(&again);
  gw_problems_free(&p);
  gw_problems_free(&p2);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* examples/<name>.asycuda.xml decodes to golden/<name>.json; that model
 * encodes to golden/<name>.encoded.xml; and both survive a round trip. */
static void golden(const char *name) {
  char path[512];
  snprintf(path, sizeof path, EXAMPLES "%s.asycuda.xml", name);
  size_t len = 0;
  char *xml = tu_read(path, &len);
  assert_non_null(xml);
  gw_consignment c = {0};
  gw_problems p = {0};
  int v = 0;
  int rc = decode_text(xml, len, &c, &p, &v);
  if (rc || p.n) print_problems(&p);
  assert_int_equal(rc, 0);
  assert_true(v);
  assert_int_equal(p.n, 0); /* our own examples are consistent */

  snprintf(path, sizeof path, GOLDEN "%s.json", name);
  if (getenv("LMCGW_UPDATE_GOLDEN")) {
    char *j = gw_model_to_json(&c, 1);
    size_t jl = strlen(j);
    j = realloc(j, jl + 2);
    strcpy(j + jl, "\n");
    write_file(path, j);
    free(j);
  }
  size_t jlen = 0;
  char *json = tu_read(path, &jlen);
  assert_non_null(json);
  gw_consignment want = {0};
  gw_problems jp = {0};
  assert_int_equal(gw_model_from_json(json, jlen, &want, &jp), 0);
  char where[256] = "";
  if (gw_model_compare(&want, &c, where, sizeof where)) fail_msg("%s: decode differs from golden at %s", name, where);

  gw_problems ep = {0};
  char *enc = encode_text(&want, &ep);
  assert_int_equal(count_severity(&ep, "error"), 0);
  snprintf(path, sizeof path, GOLDEN "%s.encoded.xml", name);
  if (getenv("LMCGW_UPDATE_GOLDEN")) write_file(path, enc);
  size_t glen = 0;
  char *gold = tu_read(path, &glen);
  assert_non_null(gold);
  if (strlen(enc) != glen || memcmp(enc, gold, glen))
    fail_msg("%s: encoding differs from %s (LMCGW_UPDATE_GOLDEN=1 rewrites it)", name, path);
  round_trip(&want, name);

  free(gold);
  free(enc);
  gw_problems_free(&ep);
  gw_model_free(&want);
  gw_model_free(&c);
  gw_problems_free(&p);
  gw_problems_free(&jp);
  free(json);
  free(xml);
}

static void golden_rice(void **state) {
  (void)state;
  golden("kh-vn-rice");
}

static void golden_coffee(void **state) {
  (void)state;
  golden("la-cn-coffee");
}

static void adapter_facts(void **state) {
  (void)state;
  assert_int_equal(A->abi, GW_ADAPTER_ABI);
  assert_string_equal(A->name, "asycuda");
  assert_string_equal(A->kinds, GW_KIND_DECLARATION);
  assert_null(A->detect);
  assert_string_equal(A->roots[0].local, "ASYCUDA");
  assert_string_equal(A->roots[0].ns, "");
  assert_null(A->roots[1].local);
  struct stat st;
  char path[512];
  snprintf(path, sizeof path, LMCGW_SOURCE_DIR "/schemas/%s", A->roots[0].xsd);
  assert_int_equal(stat(path, &st), 0);
}

/* ---- variants and value shapes --------------------------------------------- */

/* The KH example with one substring replaced (it must occur). */
static char *variant(const char *from, const char *to) {
  size_t len = 0;
  char *xml = tu_read(EXAMPLES "kh-vn-rice.asycuda.xml", &len);
  assert_non_null(xml);
  char *at = strstr(xml, from);
  if (!at) fail_msg("'%s' is not in the example", from);
  size_t fl = strlen(from), tl = strlen(to);
  char *out = malloc(len - fl + tl + 1);
  memcpy(out, xml, (size_t)(at - xml));
  memcpy(out + (at - xml), to, tl);
  strcpy(out + (at - xml) + tl, at + fl);
  free(xml);
  return out;
}

/* Decodes a variant that must be valid and decode; returns the model. */
static void decode_ok(const char *xml, gw_consignment *c, gw_problems *p) {
  int v = 0;
  int rc = decode_text(xml, strlen(xml), c, p, &v);
  if (rc || !v) print_problems(p);
  assert_true(v);
  assert_int_equal(rc, 0);
}

static void dates_and_numbers(void **state) {
  (void)state;
  static const char *const dates[][2] = {
      {"3/7/25", "2025-03-07"}, {"03/07/25", "2025-03-07"}, {"12/28/24", "2024-12-28"},
      {"2/29/24", "2024-02-29"}, {"3/7/2025", "2025-03-07"}, {"2025-03-07", "2025-03-07"}};
  for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
    char to[80];
    snprintf(to, sizeof to, "<Date_of_declaration>%s</Date_of_declaration>", dates[i][0]);
    char *xml = variant("<Date_of_declaration>3/11/25</Date_of_declaration>", to);
    gw_consignment c = {0};
    gw_problems p = {0};
    decode_ok(xml, &c, &p);
    assert_string_equal(c.issued_at, dates[i][1]);
    gw_model_free(&c);
    gw_problems_free(&p);
    free(xml);
  }
  /* Java-style exponents become plain decimals, digit for digit. */
  static const char *const nums[][2] = {{"9.9999999E7", "99999999"},
                                        {"9.99999999999E-4", "0.000999999999999"},
                                        {"3.35E4", "33500"},
                                        {"1.5E0", "1.5"},
                                        {"33500.000000", "33500.000000"}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    char to[120];
    snprintf(to, sizeof to, "<Amount_foreign_currency>%s</Amount_foreign_currency>\n      <Currency_code>USD",
             nums[i][0]);
    char *xml = variant("<Amount_foreign_currency>33500.0</Amount_foreign_currency>\n      <Currency_code>USD", to);
    gw_consignment c = {0};
    gw_problems p = {0};
    decode_ok(xml, &c, &p);
    assert_string_equal(c.invoice.value, nums[i][1]);
    gw_model_free(&c);
    gw_problems_free(&p);
    free(xml);
  }
}

/* All three empty forms are "no value". */
static void empty_forms(void **state) {
  (void)state;
  static const char *const forms[] = {"<UCR><null/></UCR>", "<UCR/>", "<UCR></UCR>", "<UCR>\n  <null/>\n</UCR>",
                                      "<UCR>  </UCR>"};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char *xml = variant("<UCR>5KH0100278815-RICE0311</UCR>", forms[i]);
    gw_consignment c = {0};
    gw_problems p = {0};
    decode_ok(xml, &c, &p);
    assert_null(c.ucr);
    gw_model_free(&c);
    gw_problems_free(&p);
    free(xml);
  }
}

/* A header-only Jamaica-style file: the other Assessment_notice, a 3-letter
 * declaration type, Reference/Year, no Global_taxes, no items. */
static const char jamaica[] =
    "<?xml version='1.0' encoding='UTF-8' standalone='no'?>\n"
    "<ASYCUDA id='123'>\n"
    "<Assessment_notice><Registration_year>2025</Registration_year><Assessment_year/><Total_item_taxes/>"
    "<Statement_number><null/></Statement_number><Statement_date/><Statement_serial><null/></Statement_serial>"
    "<Items_taxes/><Global_taxes/></Assessment_notice>\n"
    "<Property><Sad_flow>I</Sad_flow><Nbers><Total_number_of_items>3</Total_number_of_items>"
    "<Total_number_of_packages>9.0</Total_number_of_packages></Nbers><Date_of_declaration>11/9/25</Date_of_declaration></Property>\n"
    "<Identification><Type><Type_of_declaration>IMR</Type_of_declaration>"
    "<Declaration_gen_procedure_code>4</Declaration_gen_procedure_code></Type></Identification>\n"
    "<Traders><Consignee><Consignee_code>T1</Consignee_code><Consignee_name>DEMO LTD.\nKINGSTON</Consignee_name></Consignee></Traders>\n"
    "<Declarant><Reference><Year>2025</Year><Number>R-1</Number></Reference></Declarant>\n"
    "<General_information/>\n<Transport><Container_flag>false</Container_flag></Transport>\n"
    "<Valuation><Total><Total_invoice>6800</Total_invoice><Total_weight>186.9</Total_weight></Total></Valuation>\n"
    "</ASYCUDA>\n";

static void national_variants(void **state) {
  (void)state;
  gw_consignment c = {0};
  gw_problems p = {0};
  decode_ok(jamaica, &c, &p);
  assert_string_equal(c.type_code, "IM");
  assert_string_equal(c.type_extra, "R");
  assert_string_equal(c.function_code, "9");
  assert_string_equal(c.lrn, "R-1");
  assert_string_equal(c.issued_at, "2025-11-09");
  assert_string_equal(c.total_packages, "9");
  assert_string_equal(c.invoice.value, "6800");
  assert_string_equal(c.total_gross_weight.value, "186.9");
  assert_string_equal(c.total_gross_weight.unit, "KGM");
  assert_string_equal(c.border_transport.container, "0");
  assert_int_equal(c.n_parties, 1);
  assert_string_equal(c.parties[0].name, "DEMO LTD.");
  assert_string_equal(c.parties[0].address.line, "KINGSTON");
  /* 3 items declared, none present: a warning, not a failure. */
  const gw_problem *w = find_problem(&p, "declared_items_mismatch");
  assert_non_null(w);
  assert_string_equal(w->severity, "warning");
  assert_string_equal(w->path, "/ASYCUDA/Property/Nbers/Total_number_of_items");
  round_trip(&c, "jamaica");
  gw_model_free(&c);
  gw_problems_free(&p);

  /* Nepal's write_off_unit, AI_code, the correctly spelled
   * Rate_of_adjustment, a 3-digit national suffix of zeros. */
  char *a = variant("<A.I._code><null/></A.I._code>", "<AI_code><null/></AI_code>");
  char *b = NULL;
  {
    char *x = strstr(a, "<Goods_description>");
    assert_non_null(x);
    size_t off = (size_t)(x - a);
    const char *ins = "<write_off_unit><write_off_unit_code><null/></write_off_unit_code>"
                      "<write_off_unit_qty>0</write_off_unit_qty></write_off_unit>\n      ";
    b = malloc(strlen(a) + strlen(ins) + 1);
    memcpy(b, a, off);
    strcpy(b + off, ins);
    strcat(b, a + off);
  }
  free(a);
  /* Same-length rewrites in place. */
  static const char *const swaps[][2] = {
      {"Rate_of_adjustement>1.0</Rate_of_adjustement", "Rate_of_adjustment> 1.0</Rate_of_adjustment "},
      {"<Precision_1><null/></Precision_1>", "<Precision_1>000</Precision_1>    "}};
  for (size_t i = 0; i < 2; i++) {
    char *s = strstr(b, swaps[i][0]);
    assert_non_null(s);
    assert_int_equal(strlen(swaps[i][0]), strlen(swaps[i][1]));
    memcpy(s, swaps[i][1], strlen(swaps[i][1]));
  }
  decode_ok(b, &c, &p);
  assert_string_equal(c.items[0].hs_code, "10063099");
  assert_null(find_problem(&p, "lossy_field"));
  gw_model_free(&c);
  gw_problems_free(&p);
  free(b);
}

static void consistency_warnings(void **state) {
  (void)state;
  char *xml = variant("<Total_number_of_packages>1000</Total_number_of_packages>",
                      "<Total_number_of_packages>1001</Total_number_of_packages>");
  gw_consignment c = {0};
  gw_problems p = {0};
  decode_ok(xml, &c, &p);
  const gw_problem *w = find_problem(&p, "total_packages_mismatch");
  assert_non_null(w);
  assert_string_equal(w->severity, "warning");
  assert_string_equal(c.total_packages, "1001"); /* kept as stated */
  gw_model_free(&c);
  gw_problems_free(&p);
  free(xml);

  xml = variant("<Amount_foreign_currency>33500.0</Amount_foreign_currency>\n      <Currency_code>USD",
                "<Amount_foreign_currency>33600.0</Amount_foreign_currency>\n      <Currency_code>USD");
  decode_ok(xml, &c, &p);
  assert_non_null(find_problem(&p, "total_invoice_mismatch"));
  assert_int_equal(count_severity(&p, "error"), 0);
  gw_model_free(&c);
  gw_problems_free(&p);
  free(xml);
}

/* ---- errors ------------------------------------------------------------------ */

static void expect_error(const char *xml, int want_valid, int want_rc, const char *code, const char *path) {
  gw_consignment c = {0};
  gw_problems p = {0};
  int v = -1;
  int rc = decode_text(xml, strlen(xml), &c, &p, &v);
  assert_int_equal(v, want_valid);
  assert_int_equal(rc, want_rc);
  const gw_problem *pr = find_problem(&p, code);
  if (!pr) print_problems(&p);
  assert_non_null(pr);
  assert_string_equal(pr->severity, "error");
  assert_string_equal(pr->path, path);
  assert_true(strlen(pr->message) > 10);
  gw_model_free(&c);
  gw_problems_free(&p);
}

static void wrong_root(void **state) {
  (void)state;
  expect_error("<SAD><Property/></SAD>", 0, GW_EUNSUPPORTED, "unknown_document", "/");
  expect_error("<ASYCUDA xmlns='urn:example:sad'/>", 0, GW_EUNSUPPORTED, "unknown_document", "/");
}

static void missing_structure(void **state) {
  (void)state;
  expect_error("<ASYCUDA><Property/><Traders/><Declarant/><General_information/><Transport/><Valuation/></ASYCUDA>", 0,
               GW_ESCHEMA, "missing_element", "/ASYCUDA");
  expect_error("<ASYCUDA><Property/><Identification><Type/></Identification><Traders/><Declarant/>"
               "<General_information/><Transport/><Valuation/></ASYCUDA>",
               0, GW_ESCHEMA, "missing_element", "/ASYCUDA/Identification/Type");
  /* An item without its tariff segment is refused by the XSD. */
  char *xml = variant("<Tarification>", "<Tarificatio_>");
  char *end = strstr(xml, "</Tarification>");
  assert_non_null(end);
  memcpy(end, "</Tarificatio_>", 15);
  gw_problems p = {0};
  xmlDocPtr doc = NULL;
  assert_int_equal(gw_xml_parse(xml, strlen(xml), &doc, &p), 0);
  assert_false(valid(doc));
  xmlFreeDoc(doc);
  gw_problems_free(&p);
  free(xml);
}

static void bad_values(void **state) {
  (void)state;
  struct {
    const char *from, *to, *code, *path;
  } cases[] = {
      {"<Total_number_of_items>2</Total_number_of_items>", "<Total_number_of_items>2,0</Total_number_of_items>",
       "bad_number", "/ASYCUDA/Property/Nbers/Total_number_of_items"},
      {"<Number_of_packages>700.0</Number_of_packages>", "<Number_of_packages>seven</Number_of_packages>",
       "bad_number", "/ASYCUDA/Item[1]/Packages/Number_of_packages"},
      {"<Item_price>10050.0</Item_price>", "<Item_price>1E999</Item_price>", "bad_number",
       "/ASYCUDA/Item[2]/Tarification/Item_price"},
      {"<Date_of_declaration>3/11/25</Date_of_declaration>", "<Date_of_declaration>13/11/25</Date_of_declaration>",
       "bad_date", "/ASYCUDA/Property/Date_of_declaration"},
      {"<Date_of_declaration>3/11/25</Date_of_declaration>", "<Date_of_declaration>2/29/25</Date_of_declaration>",
       "bad_date", "/ASYCUDA/Property/Date_of_declaration"},
      {"<Date_of_declaration>3/11/25</Date_of_declaration>", "<Date_of_declaration>2025-3-11</Date_of_declaration>",
       "bad_date", "/ASYCUDA/Property/Date_of_declaration"},
      {"<Attached_document_date>3/10/25</Attached_document_date>",
       "<Attached_document_date>3/10/225</Attached_document_date>", "bad_date",
       "/ASYCUDA/Item[1]/Attached_documents[1]/Attached_document_date"},
      {"<Container_flag>false</Container_flag>", "<Container_flag>no</Container_flag>", "bad_boolean",
       "/ASYCUDA/Transport/Container_flag"},
      {"<UCR>5KH0100278815-RICE0311</UCR>", "<UCR>X<null/></UCR>", "bad_null", "/ASYCUDA/Identification/UCR"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *xml = variant(cases[i].from, cases[i].to);
    expect_error(xml, 1, GW_ESCHEMA, cases[i].code, cases[i].path);
    free(xml);
  }
}

/* ---- encode ------------------------------------------------------------------ */

static char *xpath_text(xmlDocPtr doc, const char *expr) {
  xmlXPathContextPtr x = xmlXPathNewContext(doc);
  xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
  char *r = NULL;
  if (o && o->nodesetval && o->nodesetval->nodeNr) {
    xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
    r = strdup((const char *)t);
    xmlFree(t);
  }
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(x);
  return r;
}

static double xpath_count(xmlDocPtr doc, const char *expr) {
  xmlXPathContextPtr x = xmlXPathNewContext(doc);
  xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);
  double n = o ? o->floatval : -1;
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(x);
  return n;
}

static void encode_forms(void **state) {
  (void)state;
  gw_consignment c = {0};
  gw_model_set(&c.kind, GW_KIND_DECLARATION, -1);
  gw_model_set(&c.type_code, "IM", -1);
  gw_model_set(&c.function_code, "5", -1);
  gw_model_set(&c.issued_at, "2025-03-07T10:00:00+07:00", -1);
  gw_party *pt = GW_MODEL_PUSH(c.parties, c.n_parties);
  gw_model_set(&pt->role, GW_ROLE_CARRIER, -1);
  gw_model_set(&pt->name, "Mekong Haulage", -1);
  gw_item *it = GW_MODEL_PUSH(c.items, c.n_items);
  gw_model_set(&it->sequence, "1", -1);
  gw_model_set(&it->gross_weight.value, "2.5", -1);
  gw_model_set(&it->gross_weight.unit, "TNE", -1);
  gw_problems p = {0};
  gw_adapter_output out = {0};
  assert_int_equal(A->encode(A, &c, &out, &p), 0);
  assert_true(valid(out.doc));
  /* Text and codes empty as <null/>, numbers and dates as empty elements. */
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Identification/UCR/null)"), 1);
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Property/Nbers/Total_number_of_items/node())"), 0);
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Assessment_notice/Item_tax_total)"), 14);
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Item/Taxation/Taxation_line)"), 8);
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Item/Tarification/Supplementary_unit)"), 3);
  assert_int_equal(xpath_count(out.doc, "count(/ASYCUDA/Item/Valuation_item/Weight_itm/Gross_weight_itm/node())"), 0);
  char *t = xpath_text(out.doc, "/ASYCUDA/Property/Date_of_declaration");
  assert_string_equal(t, "3/7/25");
  free(t);
  t = xpath_text(out.doc, "/ASYCUDA/Property/Sad_flow");
  assert_string_equal(t, "I");
  free(t);
  xmlFreeDoc(out.doc);
  /* What it could not write, it said. */
  static const char *const lost[] = {"function_code", "issued_at", "parties[0]", "items[0].gross_weight.unit"};
  for (size_t i = 0; i < 4; i++) {
    int found = 0;
    for (size_t k = 0; k < p.n; k++)
      found |= !strcmp(p.items[k].code, "lossy_field") && !strcmp(p.items[k].path, lost[i]);
    if (!found) print_problems(&p);
    assert_true(found);
  }
  gw_problems_free(&p);

  /* A date ASYCUDA's two-digit year cannot hold, and other kinds. */
  gw_model_set(&c.issued_at, "1999-12-31", -1);
  memset(&out, 0, sizeof out);
  assert_int_equal(A->encode(A, &c, &out, &p), GW_EINVAL);
  assert_null(out.doc);
  assert_string_equal(find_problem(&p, "unsupported_value")->path, "issued_at");
  gw_problems_free(&p);
  gw_model_set(&c.kind, GW_KIND_RESPONSE, -1);
  memset(&out, 0, sizeof out);
  assert_int_equal(A->encode(A, &c, &out, &p), GW_EUNSUPPORTED);
  assert_null(out.doc);
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* The party block is lmcgw's "name LF line LF city LF CC" both ways. */
static void party_blocks(void **state) {
  (void)state;
  static const char *const cases[][4] = {
      {"N", NULL, NULL, NULL}, {"N", "L", NULL, NULL}, {"N", NULL, "C", NULL}, {"N", NULL, NULL, "KH"},
      {"N", "L", "C", "KH"},   {NULL, "L", "C", NULL}, {NULL, NULL, NULL, "LA"}, {"N", "L", NULL, "VN"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    gw_consignment c = {0};
    gw_model_set(&c.kind, GW_KIND_DECLARATION, -1);
    gw_model_set(&c.function_code, "9", -1);
    gw_model_set(&c.type_code, "EX", -1);
    gw_party *pt = GW_MODEL_PUSH(c.parties, c.n_parties);
    gw_model_set(&pt->role, GW_ROLE_EXPORTER, -1);
    gw_model_set(&pt->id, "E1", -1);
    gw_model_set(&pt->name, cases[i][0], -1);
    gw_model_set(&pt->address.line, cases[i][1], -1);
    gw_model_set(&pt->address.city, cases[i][2], -1);
    gw_model_set(&pt->address.country, cases[i][3], -1);
    round_trip(&c, "party block");
    gw_model_free(&c);
  }
}

/* ---- the public corpus ---------------------------------------------------------- */

/* The xml block of STRUCTURE.md section 8 (malloc'd), NULL if absent. */
static char *structure_example(void) {
  size_t len = 0;
  char *md = tu_read(CORPUS "STRUCTURE.md", &len);
  if (!md) return NULL;
  char *sec = strstr(md, "## 8.");
  char *start = sec ? strstr(sec, "```xml\n") : NULL;
  char *end = start ? strstr(start + 7, "\n```") : NULL;
  char *r = end ? strndup(start + 7, (size_t)(end - start - 7 + 1)) : NULL;
  free(md);
  return r;
}

static void corpus(void **state) {
  (void)state;
  static const char *const files[] = {"CBJ250.xml", "blank-asycuda-template.xml", "STRUCTURE.md#8"};
  unsigned tried = 0, nvalid = 0, decoded = 0, trips = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, CORPUS "%s", files[i]);
    size_t len = 0;
    char *xml = strchr(files[i], '#') ? structure_example() : tu_read(path, &len);
    if (!xml) continue;
    len = strlen(xml);
    tried++;
    gw_consignment c = {0};
    gw_problems p = {0};
    int v = 0;
    int rc = decode_text(xml, len, &c, &p, &v);
    if (!v) fprintf(stderr, "%s: not valid against lmcgw-asycuda.xsd\n", files[i]);
    nvalid += v;
    if (rc) {
      fprintf(stderr, "%s: decode failed\n", files[i]);
      print_problems(&p);
    } else {
      decoded++;
      assert_int_equal(count_severity(&p, "error"), 0);
      assert_string_equal(c.kind, GW_KIND_DECLARATION);
      round_trip(&c, files[i]);
      trips++;
    }
    gw_model_free(&c);
    gw_problems_free(&p);
    free(xml);
  }
  if (!tried) {
    printf("skipped: corpus absent (%s)\n", CORPUS);
    return;
  }
  printf("asycuda corpus: %u tried, %u valid, %u decoded, %u round-tripped\n", tried, nvalid, decoded, trips);
  assert_int_equal(nvalid, tried);
  assert_int_equal(decoded, tried);
  assert_int_equal(trips, tried);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(adapter_facts),     cmocka_unit_test(golden_rice),        cmocka_unit_test(golden_coffee),
      cmocka_unit_test(dates_and_numbers), cmocka_unit_test(empty_forms),        cmocka_unit_test(national_variants),
      cmocka_unit_test(consistency_warnings), cmocka_unit_test(wrong_root),      cmocka_unit_test(missing_structure),
      cmocka_unit_test(bad_values),        cmocka_unit_test(encode_forms),       cmocka_unit_test(party_blocks),
      cmocka_unit_test(corpus),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
