/* Canonical model, its JSON and XML forms, the registry, the JSON adapter,
 * adapter plugins (dlopen) and XSLT-declared formats. */
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
#include "model/model.h"
#include "model/xmlform.h"
#include "pipeline/xml.h"
#include "testutil.h"

static unsigned iterations(void) {
  const char *e = getenv("LMCGW_PROPERTY_ITERATIONS");
  return e && atoi(e) > 0 ? (unsigned)atoi(e) : 1000;
}

static int has_code(const gw_problems *p, const char *code, const char *path) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].code, code) && (!path || !strcmp(p->items[i].path, path))) return 1;
  return 0;
}

static void dump_problems(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    fprintf(stderr, "  %s %s line %ld at %s: %s\n", p->items[i].severity, p->items[i].code, p->items[i].line,
            p->items[i].path, p->items[i].message);
}

static const char *const kinds[] = {GW_KIND_DECLARATION, GW_KIND_RESPONSE, GW_KIND_SPS, GW_KIND_SPS_ACK, GW_KIND_CO};

/* Every field survives JSON and canonical XML, over random consignments. */
static void test_forms_round_trip(void **state) {
  (void)state;
  gen_rng r = {0x5eed1234abcdULL};
  unsigned n = iterations();
  for (unsigned i = 0; i < n; i++) {
    gw_consignment a = {0}, b = {0}, c = {0};
    gen_consignment(&r, kinds[i % (sizeof(kinds) / sizeof(kinds[0]))], NULL, NULL, &a);
    char *j = gw_model_to_json(&a, i % 2);
    assert_non_null(j);
    gw_problems p = {0};
    assert_int_equal(gw_model_from_json(j, strlen(j), &b, &p), 0);
    char where[512];
    if (gw_model_compare(&a, &b, where, sizeof(where))) fail_msg("JSON round trip %u differs at %s\n%s", i, where, j);
    xmlDocPtr x = gw_model_to_xml(&a);
    assert_non_null(x);
    assert_int_equal(gw_model_from_xml(x, &c, &p), 0);
    if (gw_model_compare(&a, &c, where, sizeof(where))) fail_msg("XML round trip %u differs at %s", i, where);
    assert_int_equal(p.n, 0);
    xmlFreeDoc(x);
    free(j);
    gw_model_free(&a);
    gw_model_free(&b);
    gw_model_free(&c);
  }
}

static void test_compare_names_the_difference(void **state) {
  (void)state;
  gw_consignment a = {0}, b = {0};
  gw_item *ia = GW_MODEL_PUSH(a.items, a.n_items), *ib = GW_MODEL_PUSH(b.items, b.n_items);
  gw_model_set(&ia->net_weight.value, "12.5", -1);
  gw_model_set(&ib->net_weight.value, " 12.5 ", -1); /* trimmed: equal */
  char where[256];
  assert_int_equal(gw_model_compare(&a, &b, where, sizeof(where)), 0);
  gw_model_set(&ib->net_weight.value, "12.50", -1);
  assert_int_equal(gw_model_compare(&a, &b, where, sizeof(where)), 1);
  assert_string_equal(where, "items[0].net_weight.value");
  GW_MODEL_PUSH(b.parties, b.n_parties);
  assert_int_equal(gw_model_compare(&a, &b, where, sizeof(where)), 1);
  gw_model_free(&a);
  gw_model_free(&b);
  assert_null(a.items);
  assert_int_equal(a.n_items, 0);
}

static void test_json_errors_have_paths(void **state) {
  (void)state;
  const char *bad = "{\"kind\":\"declaration\",\"items\":[{\"sequence\":\"1\"},{\"hs_kode\":\"0810\"}],"
                    "\"parties\":{\"role\":\"exporter\"},\"ucr\":[1]}";
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(gw_model_from_json(bad, strlen(bad), &c, &p), GW_ESCHEMA);
  assert_true(has_code(&p, "json_unknown_field", "/items/1/hs_kode"));
  assert_true(has_code(&p, "json_type", "/parties"));
  assert_true(has_code(&p, "json_type", "/ucr"));
  gw_problems_free(&p);
  gw_model_free(&c);
  const char *broken = "{\n\"kind\": \"declaration\",\n\"ucr\": \"A\"\n\"lrn\": 1}";
  assert_int_equal(gw_model_from_json(broken, strlen(broken), &c, &p), GW_EPARSE);
  assert_true(has_code(&p, "json_malformed", NULL));
  assert_int_equal(p.items[0].line, 4);
  gw_problems_free(&p);
  gw_model_free(&c);
  /* Numbers are kept as their text. */
  const char *num = "{\"kind\":\"declaration\",\"total_packages\":1640,\"invoice\":{\"value\":61520.5}}";
  assert_int_equal(gw_model_from_json(num, strlen(num), &c, &p), 0);
  assert_string_equal(c.total_packages, "1640");
  assert_string_equal(c.invoice.value, "61520.5");
  gw_model_free(&c);
}

static void test_canonical_xml_errors(void **state) {
  (void)state;
  const char *x = "<consignment xmlns='urn:lmcgw:canonical:1'>\n<kind>declaration</kind>\n"
                  "<items><item><hs_code>0810</hs_code></item><thing/></items>\n<colour>red</colour></consignment>";
  xmlDocPtr d = xmlReadMemory(x, (int)strlen(x), NULL, NULL, XML_PARSE_NONET);
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(gw_model_from_xml(d, &c, &p), GW_ESCHEMA);
  assert_true(has_code(&p, "canonical_invalid", "/consignment/items"));
  assert_true(has_code(&p, "canonical_invalid", "/consignment/colour"));
  assert_int_equal(c.n_items, 1);
  xmlFreeDoc(d);
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* schemas/json/lmcgw-consignment.schema.json is generated; it must not drift. */
static void test_json_schema_file_is_current(void **state) {
  (void)state;
  char *gen = gw_model_json_schema();
  size_t len = 0;
  char *file = tu_read(LMCGW_SOURCE_DIR "/schemas/json/lmcgw-consignment.schema.json", &len);
  assert_non_null(file);
  while (len && file[len - 1] == '\n') file[--len] = 0;
  if (strcmp(gen, file))
    fail_msg("schemas/json/lmcgw-consignment.schema.json is out of date: "
             "build/lmcgw formats --json-schema > schemas/json/lmcgw-consignment.schema.json");
  free(gen);
  free(file);
}

static gw_registry *registry(gw_config *cfg) {
  gw_error err = {0};
  gw_registry *r = NULL;
  if (gw_registry_new(LMCGW_SOURCE_DIR "/schemas", cfg, &r, &err)) fail_msg("registry: %s", err.msg);
  return r;
}

static void test_registry_json_and_sniffing(void **state) {
  (void)state;
  gw_registry *r = registry(NULL);
  const gw_adapter *json = gw_registry_find(r, "json");
  assert_non_null(json);
  const char *msg = "  {\"kind\":\"declaration\",\"ucr\":\"U-1\",\"items\":[{\"sequence\":\"1\",\"hs_code\":\"100630\"}]}";
  gw_decoded d = {0};
  gw_problems p = {0};
  assert_int_equal(gw_registry_decode(r, msg, strlen(msg), NULL, &d, &p), 0);
  assert_ptr_equal(d.adapter, json);
  assert_string_equal(d.kind, GW_KIND_DECLARATION);
  assert_string_equal(d.model.items[0].hs_code, "100630");
  gw_encoded e = {0};
  assert_int_equal(gw_registry_encode(r, json, &d.model, 1, &e, &p), 0);
  assert_non_null(strstr(e.bytes, "\"100630\""));
  assert_int_equal(p.n, 0); /* JSON carries everything: no lossy warnings */
  gw_encoded_free(&e);
  gw_decoded_free(&d);
  /* By media type, and refusals that say why. */
  assert_int_equal(gw_registry_decode(r, msg, strlen(msg), "application/json; charset=utf-8", &d, &p), 0);
  gw_decoded_free(&d);
  assert_int_equal(gw_registry_decode(r, "hello", 5, NULL, &d, &p), GW_ENOTFOUND);
  assert_true(has_code(&p, "unknown_format", NULL));
  gw_decoded_free(&d);
  gw_problems_free(&p);
  assert_int_equal(gw_registry_decode(r, msg, strlen(msg), "application/x-nothing", &d, &p), GW_ENOTFOUND);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  const char *nokind = "{\"ucr\":\"U-1\"}";
  assert_int_equal(gw_registry_decode(r, nokind, strlen(nokind), "json", &d, &p), GW_ESCHEMA);
  assert_true(has_code(&p, "json_missing_field", "/kind"));
  gw_decoded_free(&d);
  gw_problems_free(&p);
  const char *xml = "<?xml version='1.0'?><Unknown xmlns='urn:x'/>";
  assert_int_equal(gw_registry_decode(r, xml, strlen(xml), NULL, &d, &p), GW_ENOTFOUND);
  assert_true(has_code(&p, "unknown_document", "/"));
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_registry_free(r);
}

static void test_carries_patterns(void **state) {
  (void)state;
  static const char *const carries[] = {"ucr", "items.hs_code", "parties.*", "response:mrn", NULL};
  gw_adapter a = {.carries = carries};
  assert_true(gw_adapter_carries(&a, NULL, "ucr"));
  assert_true(gw_adapter_carries(&a, NULL, "items[3].hs_code"));
  assert_true(gw_adapter_carries(&a, NULL, "parties[0].address.city"));
  assert_true(gw_adapter_carries(&a, NULL, "kind"));
  assert_false(gw_adapter_carries(&a, NULL, "items[0].description"));
  assert_false(gw_adapter_carries(&a, NULL, "partiesx"));
  assert_true(gw_adapter_carries(&a, "response", "mrn"));
  assert_false(gw_adapter_carries(&a, "declaration", "mrn"));
}

static gw_config *config_with(gw_adapter_cfg *ac, size_t n) {
  static gw_config cfg;
  gw_error err = {0};
  assert_int_equal(gw_config_defaults(&cfg, LMCGW_SOURCE_DIR, &err), 0);
  cfg.adapters = ac;
  cfg.n_adapters = n;
  return &cfg;
}

static void release(gw_config *cfg) {
  cfg->adapters = NULL;
  cfg->n_adapters = 0;
  gw_config_free(cfg);
}

static void test_plugin(void **state) {
  (void)state;
  gw_adapter_cfg ac = {.name = "kv", .plugin = LMCGW_KV_PLUGIN};
  gw_config *cfg = config_with(&ac, 1);
  gw_registry *r = registry(cfg);
  const gw_adapter *kv = gw_registry_find(r, "kv");
  assert_non_null(kv);
  const char *msg = "kind: declaration\nucr: 6TH-KV-1\nexport_country: TH\ndestination_country: VN\n";
  gw_decoded d = {0};
  gw_problems p = {0};
  assert_int_equal(gw_registry_decode(r, msg, strlen(msg), NULL, &d, &p), 0);
  assert_ptr_equal(d.adapter, kv);
  assert_string_equal(d.model.ucr, "6TH-KV-1");
  /* Items are beyond what it carries: loud, not silent. */
  gw_item *it = GW_MODEL_PUSH(d.model.items, d.model.n_items);
  gw_model_set(&it->hs_code, "081060", -1);
  gw_encoded e = {0};
  assert_int_equal(gw_registry_encode(r, kv, &d.model, 1, &e, &p), 0);
  assert_true(has_code(&p, "lossy_field", "items[0].hs_code"));
  assert_non_null(strstr(e.bytes, "ucr: 6TH-KV-1\n"));
  gw_encoded_free(&e);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_registry_free(r);
  /* A plugin built for another ABI is refused, naming both numbers. */
  gw_adapter_cfg bad = {.name = "kv", .plugin = LMCGW_KV_BADABI_PLUGIN};
  cfg->adapters = &bad;
  gw_error err = {0};
  gw_registry *r2 = NULL;
  assert_int_equal(gw_registry_new(LMCGW_SOURCE_DIR "/schemas", cfg, &r2, &err), GW_ECONFIG);
  assert_non_null(strstr(err.msg, "ABI 99"));
  assert_null(r2);
  gw_adapter_cfg missing = {.name = "kv", .plugin = "/nonexistent/lmcgw-x.so"};
  cfg->adapters = &missing;
  assert_int_equal(gw_registry_new(LMCGW_SOURCE_DIR "/schemas", cfg, &r2, &err), GW_ECONFIG);
  assert_non_null(strstr(err.msg, "/nonexistent/lmcgw-x.so"));
  release(cfg);
}

static gw_adapter_cfg xslt_cfg(void) {
  gw_adapter_cfg ac = {.name = "national-decl",
                       .kind = "declaration",
                       .root = "ExportDeclaration",
                       .ns = "urn:example:national:decl:1",
                       .xsd = LMCGW_SOURCE_DIR "/examples/xslt/national-decl.xsd",
                       .to_canonical = LMCGW_SOURCE_DIR "/examples/xslt/to-canonical.xsl",
                       .from_canonical = LMCGW_SOURCE_DIR "/examples/xslt/from-canonical.xsl"};
  return ac;
}

static void test_xslt_format(void **state) {
  (void)state;
  gw_adapter_cfg ac = xslt_cfg();
  gw_config *cfg = config_with(&ac, 1);
  gw_registry *r = registry(cfg);
  const gw_adapter *nat = gw_registry_find(r, "national-decl");
  assert_non_null(nat);
  size_t len = 0;
  char *msg = tu_read(LMCGW_SOURCE_DIR "/examples/xslt/mm-th-mungbean.xml", &len);
  gw_decoded d = {0};
  gw_problems p = {0};
  if (gw_registry_decode(r, msg, len, NULL, &d, &p)) {
    dump_problems(&p);
    fail();
  }
  assert_ptr_equal(d.adapter, nat);
  assert_string_equal(d.model.ucr, "6MM0004417-MUNG0731");
  assert_string_equal(d.model.destination_country, "TH");
  assert_int_equal(d.model.n_parties, 2);
  assert_string_equal(d.model.parties[1].role, "consignee");
  assert_string_equal(d.model.items[0].gross_weight.value, "24150.5");
  /* Encode back: same model; a field it cannot carry is reported. */
  gw_model_set(&d.model.items[0].scientific_name, "Vigna radiata", -1);
  gw_encoded e = {0};
  assert_int_equal(gw_registry_encode(r, nat, &d.model, 1, &e, &p), 0);
  assert_true(has_code(&p, "lossy_field", "items[0].scientific_name"));
  gw_decoded back = {0};
  gw_problems p2 = {0};
  assert_int_equal(gw_registry_decode(r, e.bytes, e.len, "national-decl", &back, &p2), 0);
  free(d.model.items[0].scientific_name);
  d.model.items[0].scientific_name = NULL;
  char where[256];
  if (gw_model_compare(&d.model, &back.model, where, sizeof(where))) fail_msg("differs at %s", where);
  gw_decoded_free(&back);
  gw_encoded_free(&e);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_problems_free(&p2);
  /* Against its XSD: a document that breaks it is refused before any XSLT runs. */
  const char *bad = "<ExportDeclaration xmlns='urn:example:national:decl:1'><Reference>X</Reference></ExportDeclaration>";
  assert_int_equal(gw_registry_decode(r, bad, strlen(bad), NULL, &d, &p), GW_ESCHEMA);
  assert_true(has_code(&p, "schema_invalid", NULL));
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_registry_free(r);
  free(msg);
  release(cfg);
}

/* schemas: entries replace a root's XSD (official schemas instead of ours). */
static void test_schema_override(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("override");
  char *xsd = tu_write(dir, "strict.xsd",
                       "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:example:national:decl:1'"
                       " elementFormDefault='qualified'><xs:element name='ExportDeclaration'><xs:complexType><xs:sequence>"
                       "<xs:element name='Nothing' type='xs:string'/></xs:sequence></xs:complexType></xs:element>"
                       "</xs:schema>");
  gw_adapter_cfg ac = xslt_cfg();
  gw_config *cfg = config_with(&ac, 1);
  gw_schema_cfg sc = {.root = "ExportDeclaration", .ns = "urn:example:national:decl:1", .xsd = xsd};
  cfg->schemas = &sc;
  cfg->n_schemas = 1;
  gw_registry *r = registry(cfg);
  assert_string_equal(gw_registry_xsd(r, gw_registry_find(r, "national-decl"), 0), xsd);
  size_t len = 0;
  char *msg = tu_read(LMCGW_SOURCE_DIR "/examples/xslt/mm-th-mungbean.xml", &len);
  gw_decoded d = {0};
  gw_problems p = {0};
  assert_int_equal(gw_registry_decode(r, msg, len, NULL, &d, &p), GW_ESCHEMA);
  assert_true(has_code(&p, "schema_invalid", NULL));
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_registry_free(r);
  cfg->schemas = NULL;
  cfg->n_schemas = 0;
  release(cfg);
  free(msg);
  free(xsd);
  tu_rmrf(dir);
  free(dir);
}

/* A stylesheet may not read files: libxslt's security preferences deny it. */
static void test_xslt_cannot_read_files(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("xslt");
  char *evil = tu_write(dir, "evil.xsl",
                        "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'"
                        " xmlns='urn:lmcgw:canonical:1'>"
                        "<xsl:template match='/'><consignment><ucr><xsl:value-of select=\"document('/etc/hostname')\"/>"
                        "</ucr></consignment></xsl:template></xsl:stylesheet>");
  gw_adapter_cfg ac = xslt_cfg();
  ac.to_canonical = evil;
  gw_config *cfg = config_with(&ac, 1);
  gw_registry *r = registry(cfg);
  size_t len = 0;
  char *msg = tu_read(LMCGW_SOURCE_DIR "/examples/xslt/mm-th-mungbean.xml", &len);
  gw_decoded d = {0};
  gw_problems p = {0};
  int rc = gw_registry_decode(r, msg, len, NULL, &d, &p);
  assert_int_not_equal(rc, 0);
  assert_null(d.model.ucr);
  gw_decoded_free(&d);
  gw_problems_free(&p);
  gw_registry_free(r);
  release(cfg);
  free(msg);
  free(evil);
  tu_rmrf(dir);
  free(dir);
}

static int setup(void **state) {
  (void)state;
  gw_error err = {0};
  return gw_xml_global_init(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms_round_trip),         cmocka_unit_test(test_compare_names_the_difference),
      cmocka_unit_test(test_json_errors_have_paths),   cmocka_unit_test(test_canonical_xml_errors),
      cmocka_unit_test(test_json_schema_file_is_current), cmocka_unit_test(test_registry_json_and_sniffing),
      cmocka_unit_test(test_carries_patterns),         cmocka_unit_test(test_plugin),
      cmocka_unit_test(test_xslt_format),              cmocka_unit_test(test_xslt_cannot_read_files),
      cmocka_unit_test(test_schema_override),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
