#include "pipeline/xml.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmlsec.h>

struct schema_entry {
  const gw_schema_cfg *cfg;
  xmlSchemaPtr schema;       /* shared: several roots may use one XSD file */
  int owns_schema;
  xmlXPathCompExprPtr xp[2]; /* UCR, destination */
};

struct gw_schemas {
  struct schema_entry *e;
  size_t n;
};

/* "/MetaData/Declaration/GoodsShipment[2]/UCR": local names, with a position
 * only where an element has same-named siblings. libxml2's own xmlGetNodePath
 * writes "*" for every element in a default namespace, which helps nobody. */
static void element_path(xmlNodePtr n, char *out, size_t cap) {
  char tmp[256];
  out[0] = 0;
  for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
    int pos = 1, same = 0;
    for (xmlNodePtr s = n->parent ? n->parent->children : NULL; s; s = s->next) {
      if (s->type != XML_ELEMENT_NODE || xmlStrcmp(s->name, n->name)) continue;
      if (s != n) same = 1;
      if (s == n) break;
      pos++;
    }
    for (xmlNodePtr s = n->next; s && !same; s = s->next)
      if (s->type == XML_ELEMENT_NODE && !xmlStrcmp(s->name, n->name)) same = 1;
    int w = same ? snprintf(tmp, sizeof(tmp), "/%s[%d]%s", (const char *)n->name, pos, out)
                 : snprintf(tmp, sizeof(tmp), "/%s%s", (const char *)n->name, out);
    if (w < 0 || (size_t)w >= cap) break;
    memcpy(out, tmp, (size_t)w + 1);
  }
}

/* libxml2 reports errors through a handler; collect them into problems. */
static void on_xml_error(void *ctx, xmlErrorPtr e) {
  gw_problems *p = ctx;
  if (!p || !e || e->level == XML_ERR_WARNING) return;
  char path[256] = "";
  xmlNodePtr node = e->node;
  /* Content errors may point at a text or attribute node; name its element. */
  while (node && node->type != XML_ELEMENT_NODE && node->parent) node = node->parent;
  if (node && node->type == XML_ELEMENT_NODE) element_path(node, path, sizeof(path));
  int schema = e->domain == XML_FROM_SCHEMASV || e->domain == XML_FROM_SCHEMASP;
  gw_problems_add(p, schema ? "schema_invalid" : "not_well_formed", "error", e->line, path, "%s",
                  e->message ? e->message : "unknown error");
}

/* Silences libxml2's default printing to stderr for errors nobody asked for. */
static void quiet(void *ctx, const char *msg, ...) {
  (void)ctx;
  (void)msg;
}

static xmlParserInputPtr refuse_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)url;
  (void)id;
  (void)ctxt;
  return NULL;
}

/* Commands (and tests that run several) may ask more than once; xmlsec must
 * be initialised only once or it loses its I/O callback list. */
static int xml_ready;

int gw_xml_global_init(gw_error *err) {
  if (xml_ready) return 0;
  xmlInitParser();
  xmlSetGenericErrorFunc(NULL, quiet);
  /* Never fetch anything while parsing or validating, whatever a document says. */
  xmlSetExternalEntityLoader(refuse_loader);
  if (xmlSecInit() < 0) return GW_ERR(err, GW_ECRYPTO, "xmlsec initialisation failed");
  if (xmlSecCheckVersion() != 1) return GW_ERR(err, GW_ECRYPTO, "xmlsec library version mismatch");
  if (xmlSecCryptoAppInit(NULL) < 0) return GW_ERR(err, GW_ECRYPTO, "xmlsec crypto (OpenSSL) initialisation failed");
  if (xmlSecCryptoInit() < 0) return GW_ERR(err, GW_ECRYPTO, "xmlsec OpenSSL engine initialisation failed");
  xml_ready = 1;
  return 0;
}

void gw_xml_global_cleanup(void) {
  xml_ready = 0;
  xmlSecCryptoShutdown();
  xmlSecCryptoAppShutdown();
  xmlSecShutdown();
  xmlCleanupParser();
}

/* Schema files may include or import each other from disk; only local files. */
static xmlParserInputPtr local_only_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)id;
  if (!url || (strstr(url, "://") && strncmp(url, "file://", 7))) return NULL;
  return xmlNewInputFromFile(ctxt, url);
}

int gw_schemas_load(gw_schemas **out, const gw_schema_cfg *cfgs, size_t n, gw_error *err) {
  gw_schemas *s = calloc(1, sizeof(*s));
  if (!s || !(s->e = calloc(n ? n : 1, sizeof(*s->e)))) {
    free(s);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  s->n = n;
  xmlExternalEntityLoader prev = xmlGetExternalEntityLoader();
  xmlSetExternalEntityLoader(local_only_loader);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    struct schema_entry *e = &s->e[i];
    e->cfg = &cfgs[i];
    for (size_t j = 0; j < i; j++)
      if (!strcmp(s->e[j].cfg->xsd, cfgs[i].xsd)) e->schema = s->e[j].schema;
    if (!e->schema) {
      gw_problems pr = {0};
      xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(cfgs[i].xsd);
      if (pc) {
        xmlSchemaSetParserStructuredErrors(pc, on_xml_error, &pr);
        e->schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
      }
      if (!e->schema) {
        rc = GW_ERR(err, GW_ECONFIG, "schema %s (for {%s}%s) does not compile: %s", cfgs[i].xsd, cfgs[i].ns,
                    cfgs[i].root, pr.n ? pr.items[0].message : "cannot read it");
        if (pr.n) err->line = pr.items[0].line;
      }
      gw_problems_free(&pr);
      e->owns_schema = 1;
    }
    const char *xps[2] = {cfgs[i].ucr_xpath, cfgs[i].dest_xpath};
    for (int k = 0; k < 2 && !rc; k++) {
      if (!xps[k]) continue;
      e->xp[k] = xmlXPathCompile((const xmlChar *)xps[k]);
      if (!e->xp[k])
        rc = GW_ERR(err, GW_ECONFIG, "schema {%s}%s: XPath '%s' does not compile", cfgs[i].ns, cfgs[i].root, xps[k]);
    }
  }
  xmlSetExternalEntityLoader(prev);
  if (rc) {
    gw_schemas_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void gw_schemas_free(gw_schemas *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    if (s->e[i].owns_schema && s->e[i].schema) xmlSchemaFree(s->e[i].schema);
    for (int k = 0; k < 2; k++)
      if (s->e[i].xp[k]) xmlXPathFreeCompExpr(s->e[i].xp[k]);
  }
  free(s->e);
  free(s);
}

size_t gw_schemas_count(const gw_schemas *s) { return s ? s->n : 0; }

typedef struct parse_state {
  long doctype_line; /* a DOCTYPE was met here */
  long root_end;     /* just past the root's end tag, in the bytes given; -1 unknown */
} parse_state;

/* Called by the parser at "<!DOCTYPE name", before any of the DTD is read. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id) {
  (void)name;
  (void)external_id;
  (void)system_id;
  xmlParserCtxtPtr c = ctx;
  ((parse_state *)c->_private)->doctype_line = c->input ? c->input->line : 1;
  xmlStopParser(c);
}

/* The root's end: only while the parser reads the bytes as given (no
 * conversion from another encoding, not inside an entity), where its offset
 * is an offset into them. */
static void on_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri) {
  xmlParserCtxtPtr c = ctx;
  if (c->node && c->node->parent == (xmlNodePtr)c->myDoc && c->inputNr == 1 && c->input && c->input->buf &&
      !c->input->buf->encoder)
    ((parse_state *)c->_private)->root_end = xmlByteConsumed(c);
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

int gw_xml_parse(const char *buf, size_t len, xmlDocPtr *doc, gw_problems *problems) {
  *doc = NULL;
  if (len > (size_t)INT32_MAX) {
    gw_problems_add(problems, "too_large", "error", 0, NULL, "document too large to parse");
    return GW_EPARSE;
  }
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) {
    gw_problems_add(problems, "internal", "error", 0, NULL, "out of memory");
    return GW_ENOMEM;
  }
  /* Customs documents never need a DTD; stopping at any DOCTYPE removes entity
   * expansion attacks (XXE, billion laughs) at the root. */
  parse_state st = {0, -1};
  ctxt->_private = &st;
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->endElementNs = on_end_element;
  /* Structured errors are per thread in libxml2, so workers do not mix them. */
  xmlSetStructuredErrorFunc(problems, on_xml_error);
  /* No NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/DTDVALID, no
   * XINCLUDE, no HUGE (keeps libxml2's depth and text limits). */
  int opts = XML_PARSE_NONET;
  xmlDocPtr d = xmlCtxtReadMemory(ctxt, buf, (int)len, "message.xml", NULL, opts);
  int wf = ctxt->wellFormed;
  xmlFreeParserCtxt(ctxt);
  xmlSetStructuredErrorFunc(NULL, NULL);
  if (st.doctype_line) {
    problems->n = 0; /* whatever came after the stop is noise */
    gw_problems_add(problems, "dtd_forbidden", "error", st.doctype_line, NULL,
                    "documents with a DOCTYPE are refused (no DTDs or entity declarations)");
    xmlFreeDoc(d);
    return GW_EPARSE;
  }
  if (!d || !wf) {
    if (problems->n == 0)
      gw_problems_add(problems, "not_well_formed", "error", 0, NULL, "the body is not a well-formed XML document");
    xmlFreeDoc(d);
    return GW_EPARSE;
  }
  if (!xmlDocGetRootElement(d)) {
    gw_problems_add(problems, "not_well_formed", "error", 0, NULL, "the document has no root element");
    xmlFreeDoc(d);
    return GW_EPARSE;
  }
  if (st.root_end > 0 && (size_t)st.root_end <= len) d->_private = (void *)(intptr_t)st.root_end;
  *doc = d;
  return 0;
}

int gw_xml_splice_last_child(xmlDocPtr doc, const char *bytes, size_t len, char **out, size_t *out_len) {
  xmlNodePtr root = xmlDocGetRootElement(doc), last = root ? xmlGetLastChild(root) : NULL;
  size_t end = (size_t)(intptr_t)doc->_private;
  if (!last || last->type != XML_ELEMENT_NODE || !end || end > len || bytes[end - 1] != '>') return GW_ENOTFOUND;
  /* The end tag holds no '<': the last one before its '>' opens it. */
  size_t lt = end - 1;
  while (lt > 0 && bytes[lt] != '<') lt--;
  const char *name = (const char *)root->name, *prefix = root->ns && root->ns->prefix ? (const char *)root->ns->prefix : NULL;
  size_t at = lt + 2, pl = prefix ? strlen(prefix) : 0, nl = strlen(name);
  if (bytes[lt] != '<' || bytes[lt + 1] != '/') return GW_ENOTFOUND; /* <root/> has no end tag */
  if (prefix) {
    if (at + pl + 1 > end || memcmp(bytes + at, prefix, pl) || bytes[at + pl] != ':') return GW_ENOTFOUND;
    at += pl + 1;
  }
  if (at + nl > end || memcmp(bytes + at, name, nl)) return GW_ENOTFOUND;
  xmlBufferPtr b = xmlBufferCreate();
  if (!b || xmlNodeDump(b, doc, last, 0, 0) < 0 || !(*out = malloc(len + xmlBufferLength(b) + 1))) {
    xmlBufferFree(b);
    return GW_ENOMEM;
  }
  size_t sl = (size_t)xmlBufferLength(b);
  memcpy(*out, bytes, lt);
  memcpy(*out + lt, xmlBufferContent(b), sl);
  memcpy(*out + lt + sl, bytes + lt, len - lt);
  (*out)[len + sl] = 0;
  *out_len = len + sl;
  xmlBufferFree(b);
  return 0;
}

int gw_schemas_validate(const gw_schemas *s, xmlDocPtr doc, const gw_schema_cfg **which,
                        gw_problems *problems) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
  const struct schema_entry *e = NULL;
  for (size_t i = 0; i < s->n && !e; i++)
    if (!strcmp(s->e[i].cfg->root, (const char *)root->name) && !strcmp(s->e[i].cfg->ns, ns)) e = &s->e[i];
  if (!e) {
    gw_problems_add(problems, "unknown_document", "error", (long)xmlGetLineNo(root), "/",
                    "no schema is configured for root element {%s}%s", ns, (const char *)root->name);
    return GW_ENOTFOUND;
  }
  *which = e->cfg;
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(e->schema);
  if (!vc) {
    gw_problems_add(problems, "internal", "error", 0, NULL, "out of memory");
    return GW_ENOMEM;
  }
  xmlSchemaSetValidStructuredErrors(vc, on_xml_error, problems);
  int r = xmlSchemaValidateDoc(vc, doc);
  xmlSchemaFreeValidCtxt(vc);
  if (r != 0) {
    if (problems->n == 0)
      gw_problems_add(problems, "schema_invalid", "error", 0, NULL, "the document is not valid against %s", e->cfg->xsd);
    return GW_ESCHEMA;
  }
  return 0;
}

char *gw_schemas_extract(const gw_schemas *s, const gw_schema_cfg *which, xmlDocPtr doc, int what) {
  const struct schema_entry *e = NULL;
  for (size_t i = 0; i < s->n && !e; i++)
    if (s->e[i].cfg == which) e = &s->e[i];
  if (!e || what < 0 || what > 1 || !e->xp[what]) return NULL;
  xmlXPathContextPtr xc = xmlXPathNewContext(doc);
  if (!xc) return NULL;
  for (size_t i = 0; i < which->n_ns; i++)
    xmlXPathRegisterNs(xc, (const xmlChar *)which->ns_map[i].key, (const xmlChar *)which->ns_map[i].value);
  xmlXPathObjectPtr r = xmlXPathCompiledEval(e->xp[what], xc);
  char *out = NULL;
  if (r) {
    xmlChar *txt = NULL;
    if (r->type == XPATH_NODESET && r->nodesetval && r->nodesetval->nodeNr > 0)
      txt = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
    else if (r->type == XPATH_STRING && r->stringval)
      txt = xmlStrdup(r->stringval);
    if (txt) {
      const char *b = (const char *)txt, *end = b + strlen(b);
      while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r') b++;
      while (end > b && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) end--;
      if (end > b) out = strndup(b, (size_t)(end - b));
      xmlFree(txt);
    }
    xmlXPathFreeObject(r);
  }
  xmlXPathFreeContext(xc);
  return out;
}
