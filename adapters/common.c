/* lmcgw — small XML helpers shared by the XML adapters. */
#include <libxml/xpath.h>
#include <string.h>

#include "adapter.h"

int gw_ad_xpath_str(xmlXPathContextPtr x, xmlNodePtr ctxnode, const char *xpath, char **slot) {
  xmlXPathObjectPtr o = xmlXPathNodeEval(ctxnode, BAD_CAST xpath, x);
  int rc = 0;
  if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
    xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
    if (t) rc = gw_model_set(slot, (const char *)t, -1);
    else rc = GW_ENOMEM;
    xmlFree(t);
  }
  xmlXPathFreeObject(o);
  return rc;
}

xmlNodePtr gw_ad_child(xmlNodePtr parent, const char *local) {
  if (!parent) return NULL;
  for (xmlNodePtr c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, local)) return c;
  return NULL;
}

int gw_ad_child_str(xmlNodePtr parent, const char *local, char **slot) {
  xmlNodePtr c = gw_ad_child(parent, local);
  if (!c) return 0;
  xmlChar *t = xmlNodeGetContent(c);
  if (!t) return GW_ENOMEM;
  int rc = gw_model_set(slot, (const char *)t, -1);
  xmlFree(t);
  return rc;
}

xmlNodePtr gw_ad_add(xmlNodePtr parent, xmlNsPtr ns, const char *local, const char *text) {
  if (!text) return NULL;
  /* xmlNewTextChild escapes the text; xmlNewChild would take it as markup. */
  return xmlNewTextChild(parent, ns, BAD_CAST local, BAD_CAST text);
}
