/* Adapter wco-dec: WCO DEC-DMS:2 declarations (with MetaData) and RES-DMS:2
 * responses. Golden decode, encode + re-decode round trips, negative cases,
 * and the HMRC CDS corpus: the project XSD must agree with HMRC's official
 * schemas on every DEC sample, and every valid one must round-trip. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapters/adapter.h"
#include "model/json.h"
#include "pipeline/xml.h"
#include "testutil.h"

extern const gw_adapter gw_adapter_wco_dec;

#define SRC LMCGW_SOURCE_DIR
#define GOLDEN SRC "/tests/golden/wco-dec"

static gw_adapter A;           /* initialised copy (ctx holds the XSDs) */
static xmlSchemaPtr xsd_dec, xsd_res;

static void quiet_err(void *ud, xmlErrorPtr e) {
  (void)ud;
  (void)e;
}

/* gw_xml_global_init refuses every external load; schemas import files. */
static xmlParserInputPtr files_only(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)id;
  if (!url || (strstr(url, "://") && strncmp(url, "file://", 7))) return NULL;
  return xmlNewInputFromFile(ctxt, url);
}

static xmlSchemaPtr load_xsd(const char *path) {
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
  if (!pc) return NULL;
  xmlExternalEntityLoader prev = xmlGetExternalEntityLoader();
  xmlSetExternalEntityLoader(files_only);
  xmlSchemaSetParserStructuredErrors(pc, quiet_err, NULL);
  xmlSchemaPtr s = xmlSchemaParse(pc);
  xmlSchemaFreeParserCtxt(pc);
  xmlSetExternalEntityLoader(prev);
  return s;
}

static int valid(xmlSchemaPtr s, xmlDocPtr doc) {
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(s);
  if (!vc) return 0;
  xmlSchemaSetValidStructuredErrors(vc, quiet_err, NULL);
  int r = xmlSchemaValidateDoc(vc, doc);
  xmlSchemaFreeValidCtxt(vc);
  return r == 0;
}

/* The XSD the caller would pick from the adapter's roots table. */
static xmlSchemaPtr schema_for(xmlDocPtr doc) {
  xmlNodePtr r = xmlDocGetRootElement(doc);
  const char *ns = r && r->ns ? (const char *)r->ns->href : "";
  for (const gw_adapter_root *ro = A.roots; ro->local; ro++)
    if (!strcmp(ro->local, (const char *)r->name) && !strcmp(ro->ns, ns))
      return strstr(ro->xsd, "res") ? xsd_res : xsd_dec;
  return NULL;
}

static void dump_problems(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    fprintf(stderr, "  %s %s %s: %s\n", p->items[i].severity, p->items[i].code, p->items[i].path,
            p->items[i].message);
}

/* bytes -> parse (hardened) -> validate -> decode. */
static int decode_bytes(const char *buf, size_t len, gw_consignment *c) {
  gw_problems p = {0};
  xmlDocPtr doc = NULL;
  int rc = gw_xml_parse(buf, len, &doc, &p);
  if (!rc) {
    xmlSchemaPtr s = schema_for(doc);
    if (!s || !valid(s, doc)) rc = GW_ESCHEMA;
  }
  if (!rc) {
    gw_adapter_input in = {.data = buf, .len = len, .doc = doc};
    rc = A.decode(&A, &in, c, &p);
  }
  if (rc) dump_problems(&p);
  xmlFreeDoc(doc);
  gw_problems_free(&p);
  return rc;
}

/* encode -> serialise -> decode again -> compare with the model. */
static int round_trip(const gw_consignment *c, const char *what) {
  gw_problems p = {0};
  gw_adapter_output out = {0};
  int rc = A.encode(&A, c, &out, &p);
  if (rc) {
    fprintf(stderr, "%s: encode failed (%d)\n", what, rc);
    dump_problems(&p);
    gw_problems_free(&p);
    return rc;
  }
  gw_problems_free(&p);
  xmlChar *mem = NULL;
  int n = 0;
  xmlDocDumpFormatMemoryEnc(out.doc, &mem, &n, "UTF-8", 1);
  xmlFreeDoc(out.doc);
  gw_consignment back = {0};
  rc = decode_bytes((const char *)mem, (size_t)n, &back);
  char where[256] = "";
  if (!rc && gw_model_compare(c, &back, where, sizeof(where))) {
    fprintf(stderr, "%s: round trip differs at %s\n%s\n", what, where, (const char *)mem);
    rc = -100;
  } else if (rc) {
    fprintf(stderr, "%s: re-decode failed (%d)\n%s\n", what, rc, (const char *)mem);
  }
  xmlFree(mem);
  gw_model_free(&back);
  return rc;
}

static int setup(void **state) {
  (void)state;
  gw_error err = {0};
  if (gw_xml_global_init(&err)) return -1;
  A = gw_adapter_wco_dec;
  if (A.init(&A, SRC "/schemas", &err)) {
    fprintf(stderr, "init: %s\n", err.msg);
    return -1;
  }
  xsd_dec = load_xsd(SRC "/schemas/wco/lmcgw-dec-dms-2.xsd");
  xsd_res = load_xsd(SRC "/schemas/wco/lmcgw-res-dms-2.xsd");
  return xsd_dec && xsd_res ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  A.exit(&A);
  xmlSchemaFree(xsd_dec);
  xmlSchemaFree(xsd_res);
  gw_xml_global_cleanup();
  return 0;
}

/* ---- golden files ----------------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int is_xml(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 4 && !strcmp(d->d_name + n - 4, ".xml");
}

static void test_golden(void **state) {
  (void)state;
  struct dirent **ents = NULL;
  int n = scandir(GOLDEN, &ents, is_xml, by_name);
  assert_true(n >= 7);
  int update = getenv("LMCGW_UPDATE_GOLDEN") != NULL;
  for (int i = 0; i < n; i++) {
    char path[1024], jpath[1024];
    snprintf(path, sizeof(path), "%s/%s", GOLDEN, ents[i]->d_name);
    snprintf(jpath, sizeof(jpath), "%.*s.json", (int)(strlen(path) - 4), path);
    size_t len = 0;
    char *wire = tu_read(path, &len);
    assert_non_null(wire);
    gw_consignment c = {0};
    int rc = decode_bytes(wire, len, &c);
    if (rc) fprintf(stderr, "decode %s failed\n", path);
    assert_int_equal(rc, 0);
    if (update) {
      char *j = gw_model_to_json(&c, 1);
      FILE *f = fopen(jpath, "wb");
      assert_non_null(f);
      fprintf(f, "%s\n", j);
      fclose(f);
      free(j);
    }
    size_t jl = 0;
    char *jt = tu_read(jpath, &jl);
    assert_non_null(jt);
    gw_consignment want = {0};
    gw_problems p = {0};
    assert_int_equal(gw_model_from_json(jt, jl, &want, &p), 0);
    gw_problems_free(&p);
    char where[256] = "";
    if (gw_model_compare(&want, &c, where, sizeof(where))) {
      fprintf(stderr, "%s: decode differs from golden at %s\n", ents[i]->d_name, where);
      fail();
    }
    /* Encode the golden model (not the decoded one) and read it back. */
    assert_int_equal(round_trip(&want, ents[i]->d_name), 0);
    printf("golden %s: %zu fields, round trip ok\n", ents[i]->d_name, gw_model_count_fields(&c));
    gw_model_free(&want);
    gw_model_free(&c);
    free(jt);
    free(wire);
    free(ents[i]);
  }
  free(ents);
}

/* ---- decode errors ----------------------------------------------------------- */

static int decode_raw(const char *xml, gw_consignment *c, gw_problems *p) {
  xmlDocPtr doc = NULL;
  gw_problems pp = {0};
  assert_int_equal(gw_xml_parse(xml, strlen(xml), &doc, &pp), 0);
  gw_problems_free(&pp);
  gw_adapter_input in = {.data = xml, .len = strlen(xml), .doc = doc};
  int rc = A.decode(&A, &in, c, p);
  xmlFreeDoc(doc);
  return rc;
}

static const gw_problem *find(const gw_problems *p, const char *code) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].code, code)) return &p->items[i];
  return NULL;
}

static void expect_decode_error(const char *xml, int rc_want, const char *code, const char *path) {
  gw_consignment c = {0};
  gw_problems p = {0};
  int rc = decode_raw(xml, &c, &p);
  assert_int_equal(rc, rc_want);
  const gw_problem *pr = find(&p, code);
  if (!pr) dump_problems(&p);
  assert_non_null(pr);
  assert_string_equal(pr->severity, "error");
  assert_string_equal(pr->path, path);
  gw_model_free(&c);
  gw_problems_free(&p);
}

static void test_decode_errors(void **state) {
  (void)state;
  expect_decode_error("<Invoice xmlns='urn:example:invoice'/>", GW_EUNSUPPORTED, "unknown_document", "/Invoice");
  /* A Declaration in no namespace is not a DEC-DMS:2 declaration. */
  expect_decode_error("<Declaration><FunctionCode>9</FunctionCode></Declaration>", GW_EUNSUPPORTED,
                      "unknown_document", "/Declaration");
  expect_decode_error("<md:MetaData xmlns:md='urn:wco:datamodel:WCO:DocumentMetaData-DMS:2'>"
                      "<md:WCOTypeName>DEC</md:WCOTypeName></md:MetaData>",
                      GW_ESCHEMA, "missing_element", "/MetaData/Declaration");
  /* XSD-valid but inconsistent: a formatCode 102 (date) with a time part. */
  expect_decode_error("<Declaration xmlns='urn:wco:datamodel:WCO:DEC-DMS:2' "
                      "xmlns:wds='urn:wco:datamodel:WCO:Declaration_DS:DMS:2'><FunctionCode>9</FunctionCode>"
                      "<IssueDateTime><wds:DateTimeString formatCode='102'>20250614093000</wds:DateTimeString>"
                      "</IssueDateTime></Declaration>",
                      GW_ESCHEMA, "bad_date", "/Declaration/IssueDateTime/DateTimeString");
  expect_decode_error("<Response xmlns='urn:wco:datamodel:WCO:RES-DMS:2' "
                      "xmlns:r='urn:wco:datamodel:WCO:Response_DS:DMS:2'><FunctionCode>01</FunctionCode>"
                      "<IssueDateTime><r:DateTimeString formatCode='304'>20250614</r:DateTimeString>"
                      "</IssueDateTime></Response>",
                      GW_ESCHEMA, "bad_date", "/Response/IssueDateTime/DateTimeString");

  gw_consignment c = {0};
  gw_problems p = {0};
  gw_adapter_input in = {.data = "", .len = 0, .doc = NULL};
  assert_int_equal(A.decode(&A, &in, &c, &p), GW_EINVAL);
  assert_non_null(find(&p, "no_document"));
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* ---- encode errors ----------------------------------------------------------- */

static void base(gw_consignment *c) {
  memset(c, 0, sizeof(*c));
  gw_model_set(&c->kind, GW_KIND_DECLARATION, -1);
  gw_model_set(&c->function_code, "9", -1);
  gw_model_set(&c->lrn, "LRN-1", -1);
}

static void expect_encode_error(gw_consignment *c, int rc_want, const char *code, const char *path_part) {
  gw_problems p = {0};
  gw_adapter_output out = {0};
  int rc = A.encode(&A, c, &out, &p);
  assert_int_equal(rc, rc_want);
  assert_null(out.doc);
  const gw_problem *pr = find(&p, code);
  if (!pr || !strstr(pr->path, path_part)) dump_problems(&p);
  assert_non_null(pr);
  assert_non_null(strstr(pr->path, path_part));
  gw_problems_free(&p);
  gw_model_free(c);
}

static void test_encode_errors(void **state) {
  (void)state;
  gw_consignment c;

  base(&c);
  free(c.function_code);
  c.function_code = NULL;
  expect_encode_error(&c, GW_EINVAL, "missing_field", "function_code");

  base(&c);
  gw_model_set(&c.type_code, "EXPORT", -1);
  expect_encode_error(&c, GW_EINVAL, "unsupported_value", "type_code");

  base(&c);
  gw_model_set(&c.type_code, "EX", -1);
  gw_model_set(&c.type_extra, "DD", -1);
  expect_encode_error(&c, GW_EINVAL, "unsupported_value", "type_code");

  base(&c);
  gw_model_set(&c.issued_at, "2025-06-14T09:30:00.5+05:30", -1);
  expect_encode_error(&c, GW_EINVAL, "unsupported_value", "issued_at");

  base(&c);
  GW_MODEL_PUSH(c.documents, c.n_documents);
  gw_model_set(&c.documents[0].type, "CERT1", -1);
  expect_encode_error(&c, GW_EINVAL, "unsupported_value", "documents[0].type");

  /* Caught by validating the output: an amount needs its currency, an LRN
   * is at most 35 characters. */
  base(&c);
  gw_model_set(&c.invoice.value, "100.00", -1);
  expect_encode_error(&c, GW_ESCHEMA, "encode_invalid", "/MetaData/Declaration/InvoiceAmount");

  base(&c);
  gw_model_set(&c.lrn, "0123456789012345678901234567890123456789", -1);
  expect_encode_error(&c, GW_ESCHEMA, "encode_invalid", "/MetaData/Declaration/FunctionalReferenceID");

  base(&c);
  free(c.kind);
  c.kind = NULL;
  gw_model_set(&c.kind, GW_KIND_SPS, -1);
  expect_encode_error(&c, GW_EUNSUPPORTED, "unsupported_kind", "kind");

  memset(&c, 0, sizeof(c));
  gw_model_set(&c.kind, GW_KIND_RESPONSE, -1);
  expect_encode_error(&c, GW_EINVAL, "missing_field", "response.status");
}

static void test_encode_warnings(void **state) {
  (void)state;
  gw_consignment c;
  base(&c);
  for (int i = 0; i < 3; i++) GW_MODEL_PUSH(c.parties, c.n_parties);
  gw_model_set(&c.parties[0].role, GW_ROLE_EXPORTER, -1);
  gw_model_set(&c.parties[1].role, GW_ROLE_EXPORTER, -1);
  gw_model_set(&c.parties[2].role, GW_ROLE_AUTHORITY, -1);
  gw_problems p = {0};
  gw_adapter_output out = {0};
  assert_int_equal(A.encode(&A, &c, &out, &p), 0);
  assert_non_null(out.doc);
  xmlFreeDoc(out.doc);
  assert_int_equal(p.n, 2);
  assert_string_equal(p.items[0].code, "lossy_field");
  assert_string_equal(p.items[0].severity, "warning");
  assert_string_equal(p.items[0].path, "parties[2].role");
  assert_string_equal(p.items[1].path, "parties[1]");
  gw_problems_free(&p);
  gw_model_free(&c);

  /* A response from a decision alone gets the matching function code. */
  memset(&c, 0, sizeof(c));
  gw_model_set(&c.kind, GW_KIND_RESPONSE, -1);
  gw_model_set(&c.response.decision, "REFUSED", -1);
  assert_int_equal(A.encode(&A, &c, &out, &p), 0);
  xmlNodePtr fc = xmlDocGetRootElement(out.doc)->children;
  xmlChar *t = xmlNodeGetContent(fc);
  assert_string_equal((const char *)t, "03");
  xmlFree(t);
  xmlFreeDoc(out.doc);
  gw_problems_free(&p);
  gw_model_free(&c);
}

/* The project's invalid examples stay invalid against the project XSD. */
static void test_invalid_examples(void **state) {
  (void)state;
  size_t len = 0;
  char *buf = tu_read(SRC "/examples/invalid/schema-invalid.xml", &len);
  assert_non_null(buf);
  gw_consignment c = {0};
  assert_int_equal(decode_bytes(buf, len, &c), GW_ESCHEMA);
  gw_model_free(&c);
  free(buf);
}

/* ---- corpus ---------------------------------------------------------------------- */

#define CORPUS LMCGW_CORPUS_DIR "/hmrc-cds-wco"
static char **found;
static size_t n_found;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  size_t n = strlen(path);
  if (type != FTW_F || n < 4 || strcmp(path + n - 4, ".xml")) return 0;
  char **g = realloc(found, (n_found + 1) * sizeof(*found));
  if (!g) return -1;
  found = g;
  found[n_found++] = strdup(path);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_corpus(void **state) {
  (void)state;
  struct stat st;
  if (stat(CORPUS "/examples", &st) != 0) {
    printf("skipped: corpus absent (%s)\n", CORPUS);
    return;
  }
  /* HMRC's official verdict, computed: a wrapper schema importing the
   * official MetaData and DEC schemas (as SOURCES.md describes). */
  char *dir = tu_mkdtemp("wco-dec");
  assert_non_null(dir);
  char *wrap = tu_write(dir, "official.xsd",
                        "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>\n"
                        "<xs:import namespace='urn:wco:datamodel:WCO:DocumentMetaData-DMS:2' schemaLocation='" CORPUS
                        "/schemas/wco/declaration/DocumentMetaData_2_DMS.xsd'/>\n"
                        "<xs:import namespace='urn:wco:datamodel:WCO:DEC-DMS:2' schemaLocation='" CORPUS
                        "/schemas/wco/declaration/WCO_DEC_2_DMS.xsd'/>\n"
                        "</xs:schema>\n");
  assert_non_null(wrap);
  xmlSchemaPtr official = load_xsd(wrap);
  assert_non_null(official);

  assert_int_equal(nftw(CORPUS "/examples", collect, 16, FTW_PHYS), 0);
  qsort(found, n_found, sizeof(*found), cmp_str);
  size_t tried = 0, valid_n = 0, official_n = 0, decoded = 0, rt = 0, disagree = 0;
  for (size_t i = 0; i < n_found; i++) {
    size_t len = 0;
    char *buf = tu_read(found[i], &len);
    if (!buf || !memmem(buf, len, "urn:wco:datamodel:WCO:DEC-DMS:2", 31)) {
      free(buf);
      continue;
    }
    tried++;
    gw_problems p = {0};
    xmlDocPtr doc = NULL;
    int ok_official = 0, ok_project = 0;
    if (gw_xml_parse(buf, len, &doc, &p) == 0) {
      ok_official = valid(official, doc);
      ok_project = valid(xsd_dec, doc);
    }
    gw_problems_free(&p);
    official_n += ok_official;
    valid_n += ok_project;
    const char *rel = found[i] + strlen(CORPUS) + 1;
    if (ok_official != ok_project) {
      disagree++;
      printf("DISAGREE %s: official %s, project %s\n", rel, ok_official ? "valid" : "invalid",
             ok_project ? "valid" : "invalid");
    }
    if (ok_project) {
      gw_consignment c = {0};
      gw_adapter_input in = {.data = buf, .len = len, .doc = doc};
      int rc = A.decode(&A, &in, &c, &p);
      if (rc) {
        printf("DECODE FAILED %s\n", rel);
        dump_problems(&p);
      } else {
        decoded++;
        if (round_trip(&c, rel) == 0) rt++;
        else printf("ROUND TRIP FAILED %s\n", rel);
      }
      gw_problems_free(&p);
      gw_model_free(&c);
    }
    xmlFreeDoc(doc);
    free(buf);
  }
  printf("corpus hmrc-cds-wco DEC: tried %zu, valid %zu (official %zu, disagreements %zu), decoded %zu, "
         "round-tripped %zu\n",
         tried, valid_n, official_n, disagree, decoded, rt);
  for (size_t i = 0; i < n_found; i++) free(found[i]);
  free(found);
  xmlSchemaFree(official);
  free(wrap);
  tu_rmrf(dir);
  free(dir);
  assert_true(tried > 0);
  assert_int_equal(disagree, 0);
  assert_int_equal(decoded, valid_n);
  assert_int_equal(rt, valid_n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),          cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_encode_errors),   cmocka_unit_test(test_encode_warnings),
      cmocka_unit_test(test_invalid_examples), cmocka_unit_test(test_corpus),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
