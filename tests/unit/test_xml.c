/* XML pipeline: hardened parsing, XSD validation by root, UCR extraction,
 * enveloped XMLDSig that an independent verifier (xmlsec1 CLI) accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/sign.h"
#include "pipeline/xml.h"
#include "pki/devpki.h"
#include "testutil.h"

static char *dir;
static gw_schema_cfg cfg[1];
static gw_kv ns_map[1] = {{"t", "urn:test:decl"}};

static const char *xsd =
    "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:test:decl'\n"
    "  xmlns='urn:test:decl' elementFormDefault='qualified'>\n"
    "  <xs:element name='Decl'><xs:complexType><xs:sequence>\n"
    "    <xs:element name='UCR' type='xs:string' minOccurs='0'/>\n"
    "    <xs:element name='Dest' type='xs:string' minOccurs='0'/>\n"
    "    <xs:element name='Weight' type='xs:decimal'/>\n"
    "    <xs:any namespace='http://www.w3.org/2000/09/xmldsig#' processContents='skip' minOccurs='0'/>\n"
    "  </xs:sequence></xs:complexType></xs:element>\n"
    "</xs:schema>\n";

static const char *good = "<?xml version='1.0'?>\n<Decl xmlns='urn:test:decl'>\n  <UCR> 6TH-DUR-1 </UCR>\n"
                          "  <Dest>VN</Dest>\n  <Weight>12.5</Weight>\n</Decl>\n";

static int setup(void **state) {
  (void)state;
  dir = tu_mkdtemp("xml");
  cfg[0].root = "Decl";
  cfg[0].ns = "urn:test:decl";
  cfg[0].xsd = tu_write(dir, "decl.xsd", xsd);
  cfg[0].doctype = "declaration";
  cfg[0].format = "test";
  cfg[0].ucr_xpath = "//t:UCR";
  cfg[0].dest_xpath = "//t:Dest";
  cfg[0].ns_map = ns_map;
  cfg[0].n_ns = 1;
  gw_error err = {0};
  return gw_xml_global_init(&err);
}

static int teardown(void **state) {
  (void)state;
  free(cfg[0].xsd);
  tu_rmrf(dir);
  free(dir);
  gw_xml_global_cleanup();
  return 0;
}

static void parses_and_validates_good_document(void **state) {
  (void)state;
  gw_schemas *s = NULL;
  gw_error err = {0};
  assert_int_equal(gw_schemas_load(&s, cfg, 1, &err), 0);
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(good, strlen(good), &doc, &p), 0);
  const gw_schema_cfg *which = NULL;
  assert_int_equal(gw_schemas_validate(s, doc, &which, &p), 0);
  assert_ptr_equal(which, &cfg[0]);
  char *ucr = gw_schemas_extract(s, which, doc, 0), *dest = gw_schemas_extract(s, which, doc, 1);
  assert_string_equal(ucr, "6TH-DUR-1"); /* trimmed */
  assert_string_equal(dest, "VN");
  free(ucr);
  free(dest);
  assert_int_equal(p.n, 0);
  xmlFreeDoc(doc);
  gw_schemas_free(s);
}

static void not_well_formed_reports_line(void **state) {
  (void)state;
  const char *bad = "<Decl xmlns='urn:test:decl'>\n<UCR>x</UCR>\n<Weight>1</Wieght>\n</Decl>";
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(bad, strlen(bad), &doc, &p), GW_EPARSE);
  assert_null(doc);
  assert_true(p.n >= 1);
  assert_string_equal(p.items[0].code, "not_well_formed");
  assert_int_equal(p.items[0].line, 3);
  assert_non_null(strstr(p.items[0].message, "Wieght"));
  gw_problems_free(&p);
}

static void refuses_doctype_xxe_and_entity_bombs(void **state) {
  (void)state;
  const char *xxe = "<?xml version='1.0'?>\n<!DOCTYPE Decl [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
                    "<Decl xmlns='urn:test:decl'><UCR>&x;</UCR><Weight>1</Weight></Decl>";
  const char *lol = "<?xml version='1.0'?>\n<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                    "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
                    "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'><!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>]>\n"
                    "<l>&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;</l>";
  const char *ext = "<?xml version='1.0'?>\n<!DOCTYPE Decl SYSTEM 'http://127.0.0.1:9/x.dtd'>\n<Decl/>";
  const char *docs[] = {xxe, lol, ext};
  for (int i = 0; i < 3; i++) {
    xmlDocPtr doc;
    gw_problems p = {0};
    assert_int_equal(gw_xml_parse(docs[i], strlen(docs[i]), &doc, &p), GW_EPARSE);
    assert_null(doc);
    assert_string_equal(p.items[p.n - 1].code, "dtd_forbidden");
    gw_problems_free(&p);
  }
}

static void deep_nesting_is_refused(void **state) {
  (void)state;
  size_t depth = 10000;
  char *b = malloc(depth * 7 + 16), *q = b;
  for (size_t i = 0; i < depth; i++) q += sprintf(q, "<a>");
  for (size_t i = 0; i < depth; i++) q += sprintf(q, "</a>");
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(b, (size_t)(q - b), &doc, &p), GW_EPARSE);
  assert_true(p.n >= 1);
  gw_problems_free(&p);
  free(b);
}

static void schema_invalid_reports_path_and_line(void **state) {
  (void)state;
  gw_schemas *s = NULL;
  gw_error err = {0};
  assert_int_equal(gw_schemas_load(&s, cfg, 1, &err), 0);
  const char *bad = "<Decl xmlns='urn:test:decl'>\n  <UCR>x</UCR>\n  <Weight>heavy</Weight>\n</Decl>";
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(bad, strlen(bad), &doc, &p), 0);
  const gw_schema_cfg *which = NULL;
  assert_int_equal(gw_schemas_validate(s, doc, &which, &p), GW_ESCHEMA);
  assert_true(p.n >= 1);
  assert_string_equal(p.items[0].code, "schema_invalid");
  assert_int_equal(p.items[0].line, 3);
  if (!strstr(p.items[0].path, "Weight")) fail_msg("path '%s' msg %s", p.items[0].path, p.items[0].message);
  assert_non_null(strstr(p.items[0].message, "heavy"));
  char *json = gw_problems_json(&p, "id-1");
  assert_non_null(strstr(json, "\"code\":\"schema_invalid\""));
  assert_non_null(strstr(json, "\"line\":3"));
  free(json);
  gw_problems_free(&p);
  xmlFreeDoc(doc);
  gw_schemas_free(s);
}

static void unknown_root_is_named(void **state) {
  (void)state;
  gw_schemas *s = NULL;
  gw_error err = {0};
  assert_int_equal(gw_schemas_load(&s, cfg, 1, &err), 0);
  const char *other = "<Invoice xmlns='urn:other'/>";
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(other, strlen(other), &doc, &p), 0);
  const gw_schema_cfg *which = NULL;
  assert_int_equal(gw_schemas_validate(s, doc, &which, &p), GW_ENOTFOUND);
  assert_string_equal(p.items[0].code, "unknown_document");
  assert_non_null(strstr(p.items[0].message, "{urn:other}Invoice"));
  gw_problems_free(&p);
  xmlFreeDoc(doc);
  gw_schemas_free(s);
}

static void schema_that_does_not_compile_fails_load(void **state) {
  (void)state;
  gw_schema_cfg bad = cfg[0];
  bad.xsd = tu_write(dir, "broken.xsd", "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:element/></xs:schema>");
  gw_schemas *s = NULL;
  gw_error err = {0};
  assert_int_equal(gw_schemas_load(&s, &bad, 1, &err), GW_ECONFIG);
  assert_non_null(strstr(err.msg, "broken.xsd"));
  free(bad.xsd);
}

static size_t unb64url(const char *in, size_t n, unsigned char *out) {
  size_t o = 0;
  unsigned v = 0, bits = 0;
  for (size_t i = 0; i < n; i++) {
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *c = strchr(t, in[i]);
    assert_non_null(c);
    v = v << 6 | (unsigned)(c - t);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(v >> bits);
    }
  }
  return o;
}

/* The detached JWS over a non-XML payload verifies with the openssl command
 * (an independent check of the r||s encoding) and fails on changed bytes. */
static void jws_then_verify(gw_signer *sg, int rsa, const char *cert) {
  const char *payload = "UNA:+.? 'UNB+UNOC:3+TH+VN+261128:1200+1'";
  char *jws = NULL;
  gw_error err = {0};
  if (gw_signer_jws_detached(sg, payload, strlen(payload), &jws, &err)) fail_msg("%s", err.msg);
  char *dots = strstr(jws, "..");
  assert_non_null(dots);
  unsigned char hdr[256], sig[600];
  size_t hl = unb64url(jws, (size_t)(dots - jws), hdr);
  hdr[hl] = 0;
  assert_non_null(strstr((char *)hdr, rsa ? "\"RS256\"" : "\"ES256\""));
  assert_non_null(strstr((char *)hdr, "\"b64\":false"));
  size_t sl = unb64url(dots + 2, strlen(dots + 2), sig);
  char input[512];
  snprintf(input, sizeof(input), "%.*s.%s", (int)(dots - jws), jws, payload);
  char *in_path = tu_write(dir, "jws-input", input);
  FILE *f;
  char sig_path[600], cmd[2048];
  snprintf(sig_path, sizeof(sig_path), "%s/jws.sig", dir);
  if (rsa) {
    f = fopen(sig_path, "wb");
    fwrite(sig, 1, sl, f);
    fclose(f);
  } else {
    assert_int_equal(sl, 64);
    /* DER SEQUENCE of two INTEGERs from r||s, for the openssl command. */
    unsigned char der[80];
    size_t d = 2;
    for (int k = 0; k < 2; k++) {
      const unsigned char *x = sig + 32 * k;
      size_t skip = 0;
      while (skip < 31 && x[skip] == 0) skip++;
      int pad = x[skip] & 0x80;
      der[d++] = 0x02;
      der[d++] = (unsigned char)(32 - skip + (pad ? 1 : 0));
      if (pad) der[d++] = 0;
      memcpy(der + d, x + skip, 32 - skip);
      d += 32 - skip;
    }
    der[0] = 0x30;
    der[1] = (unsigned char)(d - 2);
    f = fopen(sig_path, "wb");
    fwrite(der, 1, d, f);
    fclose(f);
  }
  snprintf(cmd, sizeof(cmd),
           "openssl x509 -in '%s' -pubkey -noout > '%s/pub.pem' && "
           "openssl dgst -sha256 -verify '%s/pub.pem' -signature '%s' '%s' >/dev/null 2>&1",
           cert, dir, dir, sig_path, in_path);
  assert_int_equal(system(cmd), 0);
  input[strlen(input) - 2] = 'X';
  char *bad_path = tu_write(dir, "jws-bad", input);
  snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -verify '%s/pub.pem' -signature '%s' '%s' >/dev/null 2>&1", dir,
           sig_path, bad_path);
  assert_int_not_equal(system(cmd), 0);
  free(in_path);
  free(bad_path);
  free(jws);
}

/* Makes the EC development signer's key and certificate in dir and gives
 * their paths. */
static void dev_ec_files(char key[512], char cert[512]) {
  snprintf(key, 512, "%s/ec.key", dir);
  snprintf(cert, 512, "%s/ec.pem", dir);
  gw_error err = {0};
  assert_int_equal(gw_pki_dev_signer(dir, key, cert, "TH", &err), 0);
}

/* The EC development signer, loaded; cert gets its certificate's path. */
static gw_signer *dev_ec_signer(char cert[512]) {
  char key[512];
  dev_ec_files(key, cert);
  gw_error err = {0};
  gw_signer *sg = NULL;
  if (gw_signer_load(&sg, key, cert, "ecdsa-p256", &err)) fail_msg("%s", err.msg);
  return sg;
}

/* Whether the xmlsec1 command verifies text (written to dir/name) with cert. */
static int xmlsec1_verifies(const char *name, const char *text, const char *cert) {
  char cmd[2048];
  char *path = tu_write(dir, name, text);
  snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --pubkey-cert-pem '%s' '%s' >/dev/null 2>&1", cert, path);
  free(path);
  return system(cmd) == 0;
}

static void sign_then_verify(const char *alg, const char *key, const char *cert) {
  gw_signer *sg = NULL;
  gw_error err = {0};
  if (gw_signer_load(&sg, key, cert, alg, &err)) fail_msg("%s", err.msg);
  xmlDocPtr doc;
  gw_problems p = {0};
  assert_int_equal(gw_xml_parse(good, strlen(good), &doc, &p), 0);
  if (gw_signer_sign(sg, doc, &err)) fail_msg("%s", err.msg);
  /* Round trip through bytes, as the receiver sees it. */
  xmlChar *out;
  int len;
  xmlDocDumpMemoryEnc(doc, &out, &len, "UTF-8");
  xmlFreeDoc(doc);
  char *signed_path = tu_write(dir, "signed.xml", (const char *)out);
  assert_int_equal(gw_xml_parse((const char *)out, (size_t)len, &doc, &p), 0);
  if (gw_signature_verify_with_cert(doc, cert, &err)) fail_msg("own verify: %s", err.msg);
  xmlFreeDoc(doc);
  /* The signed document still validates (signature is the allowed last child). */
  gw_schemas *s = NULL;
  assert_int_equal(gw_schemas_load(&s, cfg, 1, &err), 0);
  assert_int_equal(gw_xml_parse((const char *)out, (size_t)len, &doc, &p), 0);
  const gw_schema_cfg *which;
  assert_int_equal(gw_schemas_validate(s, doc, &which, &p), 0);
  xmlFreeDoc(doc);
  gw_schemas_free(s);
  /* An independent implementation agrees. */
  char cmd[2048];
  snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --pubkey-cert-pem '%s' --id-attr:Id x '%s' >/dev/null 2>&1", cert,
           signed_path);
  assert_int_equal(system(cmd), 0);
  /* Tampering with the content breaks it. */
  char *t = strstr((char *)out, "12.5");
  assert_non_null(t);
  t[0] = '9';
  assert_int_equal(gw_xml_parse((const char *)out, (size_t)len, &doc, &p), 0);
  assert_int_not_equal(gw_signature_verify_with_cert(doc, cert, &err), 0);
  xmlFreeDoc(doc);
  char *tampered = tu_write(dir, "tampered.xml", (const char *)out);
  snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --pubkey-cert-pem '%s' '%s' >/dev/null 2>&1", cert, tampered);
  assert_int_not_equal(system(cmd), 0);
  xmlFree(out);
  free(signed_path);
  free(tampered);
  gw_problems_free(&p);
  jws_then_verify(sg, !strcmp(alg, "rsa-2048"), cert);
  gw_signer_free(sg);
}

static void signs_with_ecdsa_p256(void **state) {
  (void)state;
  char key[512], cert[512];
  dev_ec_files(key, cert);
  sign_then_verify("ecdsa-p256", key, cert);
}

static void signs_with_rsa_2048(void **state) {
  (void)state;
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/rsa.key' -out '%s/rsa.pem' -days 30 "
           "-subj '/C=VN/O=test/CN=rsa signer' -addext keyUsage=critical,digitalSignature >/dev/null 2>&1",
           dir, dir);
  assert_int_equal(system(cmd), 0);
  char key[512], cert[512];
  snprintf(key, sizeof(key), "%s/rsa.key", dir);
  snprintf(cert, sizeof(cert), "%s/rsa.pem", dir);
  sign_then_verify("rsa-2048", key, cert);
}

/* Documents whose canonical form differs from their text in every way
 * exclusive C14N knows: declarations of prefixes used and unused, on the root
 * and lower; a comment and a processing instruction outside the root and
 * inside; CDATA; attributes out of order, with entities, tabs and quotes;
 * carriage returns and character references; xml:lang; a default namespace
 * undeclared and redeclared below. Each signed one must verify with
 * xmlsec (ours) and with the xmlsec1 command, and fail once a byte changes. */
static void signs_documents_whose_canonical_form_differs(void **state) {
  (void)state;
  static const char *docs[] = {
      ("<?xml version='1.0' encoding='UTF-8'?>\n<!-- before -->\n<?pi before?>\n"
      "<a:Root xmlns:a='urn:a' xmlns:unused='urn:unused' xmlns='urn:default' xml:lang='th'>\n"
      "  <a:Item b='2' a='1' c=\"q&quot;&lt;&amp;'\tx\">t&amp;&lt;&gt;\r\n<![CDATA[<raw> & ]]></a:Item>\n"
      "  <!-- inside --><?pi inside?>\n"
      "  <Plain xmlns=''><x:Deep xmlns:x='urn:x' x:attr='v'>ทุเรียน 12.5</x:Deep></Plain>\n"
      "  <Empty/>\n</a:Root>\n<!-- after -->\n"),
      ("<Decl xmlns='urn:test:decl'><UCR>1</UCR><Weight>12.5</Weight>"
       "<x:Ext xmlns:x='urn:x' xmlns='urn:other'><y a='&#x9;&#xA;&#xD;'/></x:Ext></Decl>"),
      "<r>12.5</r>",
  };
  char cert[512];
  gw_signer *sg = dev_ec_signer(cert);
  gw_error err = {0};
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    xmlDocPtr doc;
    gw_problems p = {0};
    if (gw_xml_parse(docs[i], strlen(docs[i]), &doc, &p)) fail_msg("document %zu does not parse", i);
    if (gw_signer_sign(sg, doc, &err)) fail_msg("document %zu: %s", i, err.msg);
    xmlChar *out;
    int len;
    xmlDocDumpMemoryEnc(doc, &out, &len, "UTF-8");
    xmlFreeDoc(doc);
    assert_int_equal(gw_xml_parse((const char *)out, (size_t)len, &doc, &p), 0);
    if (gw_signature_verify_with_cert(doc, cert, &err)) fail_msg("document %zu, own verify: %s", i, err.msg);
    xmlFreeDoc(doc);
    char name[32];
    snprintf(name, sizeof(name), "awkward-%zu.xml", i);
    if (!xmlsec1_verifies(name, (const char *)out, cert))
      fail_msg("document %zu: xmlsec1 does not verify our signature: %s/%s", i, dir, name);
    char *t = strstr((char *)out, "12.5");
    assert_non_null(t);
    t[3] = '6';
    assert_false(xmlsec1_verifies(name, (const char *)out, cert));
    xmlFree(out);
    gw_problems_free(&p);
  }
  gw_signer_free(sg);
}

/* A signed document goes out as its sender's bytes with the signature's
 * markup inserted before the root's end tag; it verifies (ours, xmlsec1),
 * and everything else is byte for byte what came in. Where the end tag's
 * place in the bytes is not known, splicing says so and the tree is
 * serialised instead. */
static void signature_spliced_into_the_bytes(void **state) {
  (void)state;
  static const char *docs[] = {
      ("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<?pi x?>\r\n"
       "<d:Decl xmlns:d='urn:test:decl'  a = \"1\" >\r\n  <d:Weight>12.5</d:Weight><d:x/>\r\n</d:Decl  >\r\n"
       "<!-- trailing </d:Decl> in a comment -->\n<?pi </d:Decl>?>\n"),
      "<r>12.5<![CDATA[</r>]]></r>",
  };
  char cert[512];
  gw_signer *sg = dev_ec_signer(cert);
  gw_error err = {0};
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    size_t len = strlen(docs[i]);
    xmlDocPtr doc;
    gw_problems p = {0};
    assert_int_equal(gw_xml_parse(docs[i], len, &doc, &p), 0);
    if (gw_signer_sign(sg, doc, &err)) fail_msg("%s", err.msg);
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(gw_xml_splice_last_child(doc, docs[i], len, &out, &out_len), 0);
    xmlFreeDoc(doc);
    /* Only the signature is new, just before "</": the rest is the input. */
    const char *sig = strstr(out, "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">");
    assert_non_null(sig);
    size_t at = (size_t)(sig - out), sl = out_len - len;
    assert_memory_equal(out, docs[i], at);
    assert_memory_equal(out + at + sl, docs[i] + at, len - at);
    assert_true(!strncmp(out + at + sl, "</", 2));
    assert_true(!strncmp(out + at + sl - 12, "</Signature>", 12));
    assert_int_equal(gw_xml_parse(out, out_len, &doc, &p), 0);
    if (gw_signature_verify_with_cert(doc, cert, &err)) fail_msg("document %zu, own verify: %s", i, err.msg);
    xmlFreeDoc(doc);
    char name[32];
    snprintf(name, sizeof(name), "spliced-%zu.xml", i);
    if (!xmlsec1_verifies(name, out, cert))
      fail_msg("document %zu: xmlsec1 does not verify the spliced document %s/%s", i, dir, name);
    free(out);
    gw_problems_free(&p);
  }
  /* No end tag to put it before; bytes the parser converted (their offsets
   * are not the tree's); a tree not parsed from bytes. */
  static const char *unknown[] = {"<r a='1'/>", "<?xml version='1.0' encoding='ISO-8859-1'?><r>\xE9</r>"};
  for (size_t i = 0; i < 2; i++) {
    xmlDocPtr doc;
    gw_problems p = {0};
    assert_int_equal(gw_xml_parse(unknown[i], strlen(unknown[i]), &doc, &p), 0);
    if (gw_signer_sign(sg, doc, &err)) fail_msg("%s", err.msg);
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(gw_xml_splice_last_child(doc, unknown[i], strlen(unknown[i]), &out, &out_len), GW_ENOTFOUND);
    assert_null(out);
    xmlFreeDoc(doc);
    gw_problems_free(&p);
  }
  xmlDocPtr made = xmlNewDoc(BAD_CAST "1.0");
  xmlDocSetRootElement(made, xmlNewDocNode(made, NULL, BAD_CAST "r", NULL));
  if (gw_signer_sign(sg, made, &err)) fail_msg("%s", err.msg);
  char *out = NULL;
  size_t out_len = 0;
  assert_int_equal(gw_xml_splice_last_child(made, "<r></r>", 7, &out, &out_len), GW_ENOTFOUND);
  xmlFreeDoc(made);
  gw_signer_free(sg);
}

static void certificate_of_another_key_is_refused(void **state) {
  (void)state;
  char key[512], cert[512], other[512];
  dev_ec_files(key, cert);
  snprintf(other, sizeof(other), "%s/ec-other.key", dir);
  gw_error err = {0};
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "openssl ecparam -name prime256v1 -genkey -noout -out '%s' 2>/dev/null", other);
  assert_int_equal(system(cmd), 0);
  gw_signer *sg = NULL;
  assert_int_equal(gw_signer_load(&sg, other, cert, "ecdsa-p256", &err), GW_ECRYPTO);
  assert_non_null(strstr(err.msg, "does not match the key"));
  assert_null(sg);
}

static void key_of_wrong_kind_is_refused(void **state) {
  (void)state;
  char key[512], cert[512];
  dev_ec_files(key, cert);
  gw_error err = {0};
  gw_signer *sg = NULL;
  assert_int_equal(gw_signer_load(&sg, key, cert, "rsa-2048", &err), GW_ECRYPTO);
  assert_non_null(strstr(err.msg, "not an RSA key"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_and_validates_good_document),
      cmocka_unit_test(not_well_formed_reports_line),
      cmocka_unit_test(refuses_doctype_xxe_and_entity_bombs),
      cmocka_unit_test(deep_nesting_is_refused),
      cmocka_unit_test(schema_invalid_reports_path_and_line),
      cmocka_unit_test(unknown_root_is_named),
      cmocka_unit_test(schema_that_does_not_compile_fails_load),
      cmocka_unit_test(signs_with_ecdsa_p256),
      cmocka_unit_test(signs_with_rsa_2048),
      cmocka_unit_test(signs_documents_whose_canonical_form_differs),
      cmocka_unit_test(signature_spliced_into_the_bytes),
      cmocka_unit_test(certificate_of_another_key_is_refused),
      cmocka_unit_test(key_of_wrong_kind_is_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
