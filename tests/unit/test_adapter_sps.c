/* SPS adapter (UN/CEFACT SPSCertificate:17 / SPSAcknowledgement:17):
 * goldens, round trips through encode, the emitted order against the strict
 * schema, structure errors, and the public ePhyto / TRACES NT corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapters/adapter.h"
#include "model/json.h"
#include "pipeline/xml.h"
#include "testutil.h"

extern const gw_adapter gw_adapter_sps;

#define SCHEMAS LMCGW_SOURCE_DIR "/schemas/"
#define GOLDEN LMCGW_SOURCE_DIR "/tests/golden/sps/"

enum { ACCEPT_CERT, ACCEPT_ACK, EMIT_CERT, EMIT_ACK, N_SCHEMAS };
static const char *const schema_files[N_SCHEMAS] = {
    "sps/lmcgw-sps-certificate-17.xsd", "sps/lmcgw-sps-acknowledgement-17.xsd",
    "sps/emit/lmcgw-sps-certificate-17-emit.xsd", "sps/emit/lmcgw-sps-acknowledgement-17-emit.xsd"};
static xmlSchemaPtr schemas[N_SCHEMAS];

static int setup(void **state) {
  (void)state;
  /* Loaded before gw_xml_global_init, which refuses every external entity
   * (the pipeline loads its schemas through its own local-only loader). */
  for (int i = 0; i < N_SCHEMAS; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s%s", SCHEMAS, schema_files[i]);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    schemas[i] = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    if (!schemas[i]) {
      fprintf(stderr, "cannot load %s\n", path);
      return -1;
    }
  }
  gw_error err = {0};
  return gw_xml_global_init(&err);
}

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < N_SCHEMAS; i++) xmlSchemaFree(schemas[i]);
  gw_xml_global_cleanup();
  return 0;
}

/* 0 when doc is valid against schema s; prints the first errors otherwise. */
static int validate(xmlDocPtr doc, int s) {
  xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schemas[s]);
  assert_non_null(v);
  int rc = xmlSchemaValidateDoc(v, doc);
  xmlSchemaFreeValidCtxt(v);
  return rc;
}

static int is_ack(xmlDocPtr doc) {
  return !strcmp((const char *)xmlDocGetRootElement(doc)->name, "SPSAcknowledgement");
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

/* Parses, validates against the accepting schema (as the pipeline does), decodes. */
static int decode_text(const char *text, size_t len, gw_consignment *c, gw_problems *p, int *valid) {
  xmlDocPtr doc = NULL;
  int rc = gw_xml_parse(text, len, &doc, p);
  if (rc) return rc;
  int v = validate(doc, is_ack(doc) ? ACCEPT_ACK : ACCEPT_CERT);
  if (valid) *valid = v == 0;
  gw_adapter_input in = {.data = text, .len = len, .doc = doc, .name = "test"};
  rc = gw_adapter_sps.decode(&gw_adapter_sps, &in, c, p);
  xmlFreeDoc(doc);
  return rc;
}

/* encode -> strict and accepting schema -> decode again -> same model. */
static void round_trip(const gw_consignment *c, const char *label) {
  gw_problems p = {0};
  gw_adapter_output out = {0};
  int rc = gw_adapter_sps.encode(&gw_adapter_sps, c, &out, &p);
  if (rc) print_problems(&p);
  assert_int_equal(rc, 0);
  assert_non_null(out.doc);
  int ack = is_ack(out.doc);
  if (validate(out.doc, ack ? EMIT_ACK : EMIT_CERT)) {
    xmlDocFormatDump(stderr, out.doc, 1);
    fail_msg("%s: encoded document is not valid against the emitting schema", label);
  }
  assert_int_equal(validate(out.doc, ack ? ACCEPT_ACK : ACCEPT_CERT), 0);
  xmlChar *buf = NULL;
  int len = 0;
  xmlDocDumpMemory(out.doc, &buf, &len);
  xmlFreeDoc(out.doc);
  gw_consignment again = {0};
  gw_problems p2 = {0};
  int valid = 0;
  rc = decode_text((const char *)buf, (size_t)len, &again, &p2, &valid);
  if (rc) print_problems(&p2);
  assert_int_equal(rc, 0);
  assert_true(valid);
  char where[256] = "";
  if (gw_model_compare(c, &again, where, sizeof where)) fail_msg("%s: round trip differs at %s", label, where);
  xmlFree(buf);
  gw_model_free(&again);
  gw_problems_free(&p);
  gw_problems_free(&p2);
}

static void golden(const char *name) {
  char path[512];
  snprintf(path, sizeof path, GOLDEN "%s.xml", name);
  size_t len = 0;
  char *xml = tu_read(path, &len);
  assert_non_null(xml);
  gw_consignment c = {0};
  gw_problems p = {0};
  int valid = 0;
  int rc = decode_text(xml, len, &c, &p, &valid);
  if (rc) print_problems(&p);
  assert_int_equal(rc, 0);
  assert_true(valid);
  for (size_t i = 0; i < p.n; i++) assert_string_not_equal(p.items[i].severity, "error");

  snprintf(path, sizeof path, GOLDEN "%s.json", name);
  if (getenv("LMCGW_UPDATE_GOLDEN")) {
    char *j = gw_model_to_json(&c, 1);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(j, f);
    fputc('\n', f);
    fclose(f);
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
  round_trip(&want, name);
  gw_model_free(&want);
  gw_model_free(&c);
  gw_problems_free(&p);
  gw_problems_free(&jp);
  free(json);
  free(xml);
}

static void golden_durian(void **state) {
  (void)state;
  golden("th-vn-durian-phyto");
}
static void golden_coffee(void **state) {
  (void)state;
  golden("la-cn-coffee-phyto");
}
static void golden_ack(void **state) {
  (void)state;
  golden("cn-la-coffee-ack");
}

/* The examples are the goldens' wire files, kept equal. */
static void examples_equal_goldens(void **state) {
  (void)state;
  static const char *const names[] = {"th-vn-durian-phyto", "la-cn-coffee-phyto", "cn-la-coffee-ack"};
  for (size_t i = 0; i < 3; i++) {
    char a[512], b[512];
    snprintf(a, sizeof a, LMCGW_SOURCE_DIR "/examples/sps/%s.xml", names[i]);
    snprintf(b, sizeof b, GOLDEN "%s.xml", names[i]);
    size_t la = 0, lb = 0;
    char *ta = tu_read(a, &la), *tb = tu_read(b, &lb);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    free(ta);
    free(tb);
  }
}

static void adapter_facts(void **state) {
  (void)state;
  assert_int_equal(gw_adapter_sps.abi, GW_ADAPTER_ABI);
  assert_string_equal(gw_adapter_sps.name, "sps");
  assert_null(gw_adapter_sps.detect);
  size_t n = 0;
  for (const gw_adapter_root *r = gw_adapter_sps.roots; r->local; r++, n++) {
    char path[512];
    snprintf(path, sizeof path, "%s%s", SCHEMAS, r->xsd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
  }
  assert_int_equal(n, 2);
}

/* ---- structure errors the lenient XSD lets through ------------------------ */

#define CERT_HEAD                                                                                       \
  "<rsm:SPSCertificate xmlns:rsm='urn:un:unece:uncefact:data:standard:SPSCertificate:17'\n"             \
  " xmlns:ram='urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21'\n"    \
  " xmlns:udt='urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21'>\n"

static void expect_decode_error(const char *xml, int want_rc, const char *code, const char *path) {
  gw_consignment c = {0};
  gw_problems p = {0};
  int valid = 0;
  int rc = decode_text(xml, strlen(xml), &c, &p, &valid);
  assert_true(valid); /* these pass the XSD: only the adapter can tell */
  assert_int_equal(rc, want_rc);
  const gw_problem *pr = find_problem(&p, code);
  if (!pr) print_problems(&p);
  assert_non_null(pr);
  assert_string_equal(pr->severity, "error");
  assert_string_equal(pr->path, path);
  assert_true(pr->line > 0);
  gw_model_free(&c);
  gw_problems_free(&p);
}

static void missing_certificate_id(void **state) {
  (void)state;
  expect_decode_error(CERT_HEAD "<rsm:SPSExchangedDocument>\n<ram:TypeCode>851</ram:TypeCode>\n"
                                "</rsm:SPSExchangedDocument>\n<rsm:SPSConsignment/>\n</rsm:SPSCertificate>\n",
                      GW_ESCHEMA, "missing_element", "/SPSCertificate/SPSExchangedDocument/ID");
}

static void empty_certificate_id(void **state) {
  (void)state;
  expect_decode_error(CERT_HEAD "<rsm:SPSExchangedDocument>\n<ram:ID> </ram:ID><ram:TypeCode>851</ram:TypeCode>\n"
                                "</rsm:SPSExchangedDocument>\n<rsm:SPSConsignment/>\n</rsm:SPSCertificate>\n",
                      GW_ESCHEMA, "missing_element", "/SPSCertificate/SPSExchangedDocument/ID");
}

static void duplicate_type_code(void **state) {
  (void)state;
  expect_decode_error(CERT_HEAD "<rsm:SPSExchangedDocument>\n<ram:ID>X1</ram:ID>\n<ram:TypeCode>851</ram:TypeCode>\n"
                                "<ram:TypeCode>852</ram:TypeCode>\n</rsm:SPSExchangedDocument>\n<rsm:SPSConsignment/>\n"
                                "</rsm:SPSCertificate>\n",
                      GW_ESCHEMA, "duplicate_element", "/SPSCertificate/SPSExchangedDocument/TypeCode[2]");
}

static void item_without_sequence(void **state) {
  (void)state;
  expect_decode_error(CERT_HEAD "<rsm:SPSExchangedDocument>\n<ram:ID>X1</ram:ID>\n<ram:TypeCode>851</ram:TypeCode>\n"
                                "</rsm:SPSExchangedDocument>\n<rsm:SPSConsignment>\n<ram:IncludedSPSConsignmentItem>\n"
                                "<ram:IncludedSPSTradeLineItem><ram:CommonName>Rice</ram:CommonName>"
                                "</ram:IncludedSPSTradeLineItem>\n</ram:IncludedSPSConsignmentItem>\n"
                                "</rsm:SPSConsignment>\n</rsm:SPSCertificate>\n",
                      GW_ESCHEMA, "missing_element",
                      "/SPSCertificate/SPSConsignment/IncludedSPSConsignmentItem/IncludedSPSTradeLineItem/"
                      "SequenceNumeric");
}

static void ack_without_status(void **state) {
  (void)state;
  expect_decode_error("<a:SPSAcknowledgement xmlns:a='urn:un:unece:uncefact:data:standard:SPSAcknowledgement:17'\n"
                      " xmlns:ram='urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21'>\n"
                      "<a:SPSAcknowledgementDocument><ram:ReasonInformation>late</ram:ReasonInformation>"
                      "</a:SPSAcknowledgementDocument>\n</a:SPSAcknowledgement>\n",
                      GW_ESCHEMA, "missing_element", "/SPSAcknowledgement/SPSAcknowledgementDocument/StatusCode");
}

static void wrong_root(void **state) {
  (void)state;
  const char *xml = "<SPSCertificate xmlns='urn:example:not-sps'><x/></SPSCertificate>";
  xmlDocPtr doc = NULL;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(xml, strlen(xml), &doc, &p), 0);
  gw_consignment c = {0};
  gw_adapter_input in = {.data = xml, .len = strlen(xml), .doc = doc};
  assert_int_equal(gw_adapter_sps.decode(&gw_adapter_sps, &in, &c, &p), GW_EUNSUPPORTED);
  const gw_problem *pr = find_problem(&p, "unsupported_root");
  assert_non_null(pr);
  assert_string_equal(pr->path, "/");
  gw_adapter_input none = {.data = "", .len = 0};
  assert_int_equal(gw_adapter_sps.decode(&gw_adapter_sps, &none, &c, &p), GW_EINVAL);
  assert_non_null(find_problem(&p, "no_document"));
  xmlFreeDoc(doc);
  gw_model_free(&c);
  gw_problems_free(&p);
}

/* What the accepting XSD still types: decimals, country codes, element names. */
static void schema_rejects(void **state) {
  (void)state;
  static const char *const bad[] = {
      /* weight not a decimal */
      CERT_HEAD "<rsm:SPSExchangedDocument><ram:ID>X</ram:ID></rsm:SPSExchangedDocument><rsm:SPSConsignment>"
                "<ram:IncludedSPSConsignmentItem><ram:IncludedSPSTradeLineItem><ram:SequenceNumeric>1</ram:SequenceNumeric>"
                "<ram:NetWeightMeasure unitCode='KGM'>heavy</ram:NetWeightMeasure></ram:IncludedSPSTradeLineItem>"
                "</ram:IncludedSPSConsignmentItem></rsm:SPSConsignment></rsm:SPSCertificate>",
      /* country name instead of an ISO code */
      CERT_HEAD "<rsm:SPSExchangedDocument><ram:ID>X</ram:ID></rsm:SPSExchangedDocument><rsm:SPSConsignment>"
                "<ram:ExportSPSCountry><ram:ID>Thailand</ram:ID></ram:ExportSPSCountry></rsm:SPSConsignment>"
                "</rsm:SPSCertificate>",
      /* misspelt RAM element */
      CERT_HEAD "<rsm:SPSExchangedDocument><ram:ID>X</ram:ID><ram:IssuerParty/></rsm:SPSExchangedDocument>"
                "<rsm:SPSConsignment/></rsm:SPSCertificate>",
      /* negative sequence number */
      CERT_HEAD "<rsm:SPSExchangedDocument><ram:ID>X</ram:ID></rsm:SPSExchangedDocument><rsm:SPSConsignment>"
                "<ram:IncludedSPSConsignmentItem><ram:IncludedSPSTradeLineItem><ram:SequenceNumeric>-1</ram:SequenceNumeric>"
                "</ram:IncludedSPSTradeLineItem></ram:IncludedSPSConsignmentItem></rsm:SPSConsignment></rsm:SPSCertificate>",
      /* consignment before the document */
      CERT_HEAD "<rsm:SPSConsignment/><rsm:SPSExchangedDocument><ram:ID>X</ram:ID></rsm:SPSExchangedDocument>"
                "</rsm:SPSCertificate>",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    xmlDocPtr doc = NULL;
    gw_problems p = {0};
    assert_int_equal(gw_xml_parse(bad[i], strlen(bad[i]), &doc, &p), 0);
    if (validate(doc, ACCEPT_CERT) == 0) fail_msg("bad document %zu passed the accepting schema", i);
    xmlFreeDoc(doc);
    gw_problems_free(&p);
  }
}

static void attachment_is_reported(void **state) {
  (void)state;
  const char *xml = CERT_HEAD
      "<rsm:SPSExchangedDocument><ram:ID>X1</ram:ID><ram:TypeCode>851</ram:TypeCode>\n"
      "<ram:ReferenceSPSReferencedDocument><ram:ID>D1</ram:ID>\n"
      "<ram:AttachmentBinaryObject filename='permit.pdf'>JVBERi0x\nLjMK</ram:AttachmentBinaryObject>\n"
      "</ram:ReferenceSPSReferencedDocument></rsm:SPSExchangedDocument><rsm:SPSConsignment/></rsm:SPSCertificate>";
  gw_consignment c = {0};
  gw_problems p = {0};
  int valid = 0;
  assert_int_equal(decode_text(xml, strlen(xml), &c, &p, &valid), 0);
  assert_true(valid);
  const gw_problem *pr = find_problem(&p, "attachment_dropped");
  assert_non_null(pr);
  assert_string_equal(pr->severity, "warning");
  assert_string_equal(pr->path, "/SPSCertificate/SPSExchangedDocument/ReferenceSPSReferencedDocument/AttachmentBinaryObject");
  assert_non_null(strstr(pr->message, "permit.pdf"));
  assert_non_null(strstr(pr->message, "12 base64"));
  assert_int_equal(c.n_documents, 1);
  assert_string_equal(c.documents[0].id, "D1");
  gw_model_free(&c);
  gw_problems_free(&p);
}

/* The alphabet of an attachment is the adapter's check (no XSD pattern): a
 * character outside base64 is an error that says which and where. */
static void attachment_not_base64_is_refused(void **state) {
  (void)state;
  const char *xml = CERT_HEAD
      "<rsm:SPSExchangedDocument><ram:ID>X1</ram:ID><ram:TypeCode>851</ram:TypeCode>\n"
      "<ram:ReferenceSPSReferencedDocument><ram:ID>D1</ram:ID>\n"
      "<ram:AttachmentBinaryObject filename='permit.pdf'>JVBE\nR*0x</ram:AttachmentBinaryObject>\n"
      "</ram:ReferenceSPSReferencedDocument></rsm:SPSExchangedDocument><rsm:SPSConsignment/></rsm:SPSCertificate>";
  gw_consignment c = {0};
  gw_problems p = {0};
  int valid = 0;
  assert_int_not_equal(decode_text(xml, strlen(xml), &c, &p, &valid), 0);
  assert_true(valid); /* the schema no longer looks at the characters */
  const gw_problem *pr = find_problem(&p, "attachment_not_base64");
  assert_non_null(pr);
  assert_string_equal(pr->severity, "error");
  assert_string_equal(pr->path, "/SPSCertificate/SPSExchangedDocument/ReferenceSPSReferencedDocument/AttachmentBinaryObject");
  assert_non_null(strstr(pr->message, "character 7 is 0x2a"));
  gw_model_free(&c);
  gw_problems_free(&p);
}

/* ---- encode errors ----------------------------------------------------------- */

static void encode_refuses(void **state) {
  (void)state;
  gw_consignment c = {0};
  gw_problems p = {0};
  gw_adapter_output out = {0};
  gw_model_set(&c.kind, GW_KIND_DECLARATION, -1);
  assert_int_equal(gw_adapter_sps.encode(&gw_adapter_sps, &c, &out, &p), GW_EUNSUPPORTED);
  assert_non_null(find_problem(&p, "unsupported_kind"));
  assert_null(out.doc);
  gw_model_free(&c);
  gw_problems_free(&p);

  gw_model_set(&c.kind, GW_KIND_SPS, -1);
  assert_int_equal(gw_adapter_sps.encode(&gw_adapter_sps, &c, &out, &p), GW_EINVAL);
  const gw_problem *pr = find_problem(&p, "missing_field");
  assert_non_null(pr);
  assert_string_equal(pr->path, "cert_id");
  assert_null(out.doc);
  gw_model_free(&c);
  gw_problems_free(&p);

  gw_model_set(&c.kind, GW_KIND_SPS_ACK, -1);
  assert_int_equal(gw_adapter_sps.encode(&gw_adapter_sps, &c, &out, &p), GW_EINVAL);
  pr = find_problem(&p, "missing_field");
  assert_non_null(pr);
  assert_string_equal(pr->path, "response.status");
  gw_model_free(&c);
  gw_problems_free(&p);
}

/* A party the certificate has no place for, and a duration that is no
 * measure, are warned about, and the rest is still written. */
static void encode_warns_lossy(void **state) {
  (void)state;
  const char *json = "{\"kind\":\"sps_certificate\",\"cert_id\":\"KH-1\",\"sps\":{\"cert_type\":\"851\"},"
                     "\"parties\":[{\"role\":\"exporter\",\"name\":\"Angkor Rice\"},"
                     "{\"role\":\"consignor\",\"name\":\"Angkor Rice\"}],"
                     "\"items\":[{\"sequence\":\"1\",\"commodity\":\"Rice\",\"treatments\":[{\"type\":\"Fumigation\","
                     "\"duration\":\"three days\"}]}]}";
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(gw_model_from_json(json, strlen(json), &c, &p), 0);
  gw_adapter_output out = {0};
  assert_int_equal(gw_adapter_sps.encode(&gw_adapter_sps, &c, &out, &p), 0);
  assert_non_null(out.doc);
  assert_int_equal(validate(out.doc, EMIT_CERT), 0);
  int lossy = 0;
  for (size_t i = 0; i < p.n; i++)
    if (!strcmp(p.items[i].code, "lossy_field")) {
      lossy++;
      assert_string_equal(p.items[i].severity, "warning");
    }
  assert_int_equal(lossy, 2);
  xmlFreeDoc(out.doc);
  gw_model_free(&c);
  gw_problems_free(&p);
}

/* ---- corpus ------------------------------------------------------------------ */

static void count_severities(const gw_problems *p, int *err, int *warn, int *info) {
  *err = *warn = *info = 0;
  for (size_t i = 0; i < p->n; i++) {
    const char *s = p->items[i].severity;
    if (!strcmp(s, "error")) (*err)++;
    else if (!strcmp(s, "warning")) (*warn)++;
    else (*info)++;
  }
}

static void corpus_ephyto(void **state) {
  (void)state;
  const char *path = LMCGW_CORPUS_DIR "/ephyto-mattilsynet/SPSCertificateContent.xml";
  size_t len = 0;
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("skipped: corpus absent (%s)\n", path);
    return;
  }
  char *xml = tu_read(path, &len);
  assert_non_null(xml);
  gw_consignment c = {0};
  gw_problems p = {0};
  int valid = 0;
  int rc = decode_text(xml, len, &c, &p, &valid);
  int e, w, i;
  count_severities(&p, &e, &w, &i);
  if (rc) print_problems(&p);
  assert_true(valid);
  assert_int_equal(rc, 0);
  size_t attachments = 0;
  for (size_t k = 0; k < p.n; k++) attachments += !strcmp(p.items[k].code, "attachment_dropped");
  assert_int_equal(attachments, 6);
  assert_string_equal(c.cert_id, "123ABC");
  assert_string_equal(c.sps.cert_type, "851");
  assert_int_equal(c.n_items, 2);
  assert_string_equal(c.items[0].hs_code, "06029048");
  assert_string_equal(c.items[0].treatments[0].temperature, "32.0000 CEL");
  assert_string_equal(c.items[0].treatments[0].chemical, "238; 240");
  const gw_party *consignor = gw_model_party(&c, GW_ROLE_CONSIGNOR);
  assert_non_null(consignor);
  assert_string_equal(consignor->id, "98543210"); /* ePhyto: TypeCode listName=NationalRegistrationNumber */
  round_trip(&c, "ephyto SPSCertificateContent.xml");
  printf("corpus ephyto: 1 file, valid 1, decoded 1, round-tripped 1; %zu model fields, %zu items, %zu "
         "declarations, %zu documents; problems: %d error, %d warning (%zu attachments dropped), %d info\n",
         gw_model_count_fields(&c), c.n_items, c.sps.n_declarations, c.n_documents, e, w, attachments, i);
  if (getenv("LMCGW_SPS_VERBOSE")) print_problems(&p);
  gw_model_free(&c);
  gw_problems_free(&p);
  free(xml);
}

static void corpus_defra(void **state) {
  (void)state;
  const char *path = LMCGW_CORPUS_DIR "/defra-tracesnt-stub/GetProcessedChedResponse_ReservationResult1.xml";
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("skipped: corpus absent (%s)\n", path);
    return;
  }
  size_t len = 0;
  char *soap = tu_read(path, &len);
  gw_problems p = {0};
  xmlDocPtr env = NULL;
  assert_int_equal(gw_xml_parse(soap, len, &env, &p), 0);
  xmlXPathContextPtr x = xmlXPathNewContext(env);
  xmlXPathRegisterNs(x, BAD_CAST "sps", BAD_CAST "urn:un:unece:uncefact:data:standard:SPSCertificate:17");
  xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST "//sps:SPSCertificate", x);
  assert_non_null(o);
  assert_int_equal(o->nodesetval ? o->nodesetval->nodeNr : 0, 1);
  /* The copy carries the namespaces declared on the SOAP ancestors. */
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr copy = xmlDocCopyNode(o->nodesetval->nodeTab[0], doc, 1);
  xmlDocSetRootElement(doc, copy);
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(x);
  xmlFreeDoc(env);
  xmlChar *buf = NULL;
  int blen = 0;
  xmlDocDumpMemory(doc, &buf, &blen);
  xmlFreeDoc(doc);

  gw_consignment c = {0};
  int valid = 0;
  int rc = decode_text((const char *)buf, (size_t)blen, &c, &p, &valid);
  int e, w, i;
  count_severities(&p, &e, &w, &i);
  if (rc) print_problems(&p);
  assert_int_equal(rc, 0);
  assert_true(valid);
  assert_string_equal(c.cert_id, "CHEDP.XI.2026.0000516");
  assert_string_equal(c.sps.cert_type, "636");
  assert_string_equal(c.export_country, "GB");
  assert_int_equal(c.n_items, 2);
  assert_string_equal(c.unloading.code, "GBWPT");
  round_trip(&c, "DEFRA SPSCertificate");
  printf("corpus defra: 1 file, valid %d, decoded 1, round-tripped 1; %zu model fields, %zu parties, %zu items, "
         "%zu declarations; problems: %d error, %d warning, %d info\n",
         valid, gw_model_count_fields(&c), c.n_parties, c.n_items, c.sps.n_declarations, e, w, i);
  if (getenv("LMCGW_SPS_VERBOSE")) print_problems(&p);
  gw_model_free(&c);
  gw_problems_free(&p);
  xmlFree(buf);
  free(soap);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(adapter_facts),
      cmocka_unit_test(examples_equal_goldens),
      cmocka_unit_test(golden_durian),
      cmocka_unit_test(golden_coffee),
      cmocka_unit_test(golden_ack),
      cmocka_unit_test(missing_certificate_id),
      cmocka_unit_test(empty_certificate_id),
      cmocka_unit_test(duplicate_type_code),
      cmocka_unit_test(item_without_sequence),
      cmocka_unit_test(ack_without_status),
      cmocka_unit_test(wrong_root),
      cmocka_unit_test(schema_rejects),
      cmocka_unit_test(attachment_is_reported),
      cmocka_unit_test(attachment_not_base64_is_refused),
      cmocka_unit_test(encode_refuses),
      cmocka_unit_test(encode_warns_lossy),
      cmocka_unit_test(corpus_ephyto),
      cmocka_unit_test(corpus_defra),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
