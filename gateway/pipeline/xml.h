/* lmcgw — XML documents: hardened parsing, XSD validation by root element and
 * namespace, and extraction of routing facts by XPath.
 *
 * gw_xml_global_init() runs once on the main thread before any other call.
 * A gw_schemas registry is built once at start-up and is then read-only, so
 * worker threads share it; each call makes its own validation context. */
#ifndef GW_PIPELINE_XML_H
#define GW_PIPELINE_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "config/config.h"
#include "core/error.h"
#include "pipeline/problems.h"

typedef struct gw_schemas gw_schemas;

/* Initialises libxml2 and xmlsec (OpenSSL); call once from main. */
int gw_xml_global_init(gw_error *err);
void gw_xml_global_cleanup(void);

/* Compiles every configured XSD and XPath. cfgs must outlive the registry.
 * *out is freed with gw_schemas_free. */
int gw_schemas_load(gw_schemas **out, const gw_schema_cfg *cfgs, size_t n, gw_error *err);
void gw_schemas_free(gw_schemas *s);
size_t gw_schemas_count(const gw_schemas *s);

/* Parses bytes with the network, DTDs and entities off and refuses any DOCTYPE.
 * On success *doc is the caller's (xmlFreeDoc). On failure returns GW_EPARSE
 * and appends what and where to problems. */
int gw_xml_parse(const char *buf, size_t len, xmlDocPtr *doc, gw_problems *problems);

/* The bytes doc was parsed from (gw_xml_parse; doc unchanged since but for
 * an element appended to the root, such as a signature) with that element's
 * markup inserted before the root's end tag: the document travels as its
 * sender wrote it, with nothing re-serialised. *out is malloc'd and
 * NUL-terminated. GW_ENOTFOUND when the root's end tag is not known in the
 * bytes (another encoding than UTF-8, an empty root element, a document not
 * from gw_xml_parse): serialise the tree instead. GW_ENOMEM. */
int gw_xml_splice_last_child(xmlDocPtr doc, const char *bytes, size_t len, char **out, size_t *out_len);

/* Finds the schema for the document's root and validates. Returns 0 and sets
 * *which; GW_ENOTFOUND when no schema is configured for the root (a problem
 * names it); GW_ESCHEMA with problems when invalid. */
int gw_schemas_validate(const gw_schemas *s, xmlDocPtr doc, const gw_schema_cfg **which,
                        gw_problems *problems);

/* Evaluates the schema's UCR (what = 0) or destination (what = 1) XPath and
 * returns the trimmed text of the first match as a malloc'd string, or NULL
 * when there is none. */
char *gw_schemas_extract(const gw_schemas *s, const gw_schema_cfg *which, xmlDocPtr doc, int what);

#endif
