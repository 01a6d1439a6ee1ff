/* lmcgw — canonical model <-> canonical XML, driven by the field tables. */
#include "model/xmlform.h"

#include <stdio.h>
#include <string.h>

static int struct_to_xml(const gw_struct_desc *d, const void *obj, xmlNodePtr parent, xmlNsPtr ns) {
  for (const gw_field *f = d->fields; f->name; f++) {
    const char *p = (const char *)obj + f->offset;
    switch (f->type) {
    case GW_FT_STR:
      if (*(char *const *)p && !xmlNewTextChild(parent, ns, BAD_CAST f->name, BAD_CAST * (char *const *)p))
        return GW_ENOMEM;
      break;
    case GW_FT_STRUCT: {
      xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST f->name, NULL);
      if (!n || struct_to_xml(f->sub, p, n, ns)) return GW_ENOMEM;
      if (!n->children) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
      }
      break;
    }
    case GW_FT_ARRAY: {
      size_t cnt = *(const size_t *)((const char *)obj + f->count_offset);
      if (!cnt) break;
      xmlNodePtr w = xmlNewChild(parent, ns, BAD_CAST f->name, NULL);
      if (!w) return GW_ENOMEM;
      const char *e = *(char *const *)p;
      for (size_t i = 0; i < cnt; i++) {
        xmlNodePtr n = xmlNewChild(w, ns, BAD_CAST f->sub->name, NULL);
        if (!n || struct_to_xml(f->sub, e + i * f->sub->size, n, ns)) return GW_ENOMEM;
      }
      break;
    }
    }
  }
  return 0;
}

xmlDocPtr gw_model_to_xml(const gw_consignment *c) {
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "consignment") : NULL;
  if (!root) {
    xmlFreeDoc(doc);
    return NULL;
  }
  xmlDocSetRootElement(doc, root);
  xmlNsPtr ns = xmlNewNs(root, BAD_CAST GW_CANONICAL_NS, NULL);
  xmlSetNs(root, ns);
  if (!ns || struct_to_xml(&gw_consignment_desc, c, root, ns)) {
    xmlFreeDoc(doc);
    return NULL;
  }
  return doc;
}

static int in_ns(xmlNodePtr n) { return n->ns && n->ns->href && !strcmp((const char *)n->ns->href, GW_CANONICAL_NS); }

static int struct_from_xml(const gw_struct_desc *d, xmlNodePtr parent, void *obj, char *path, size_t plen,
                           size_t cap, gw_problems *p) {
  int rc = 0;
  for (xmlNodePtr n = parent->children; n; n = n->next) {
    if (n->type == XML_TEXT_NODE || n->type == XML_COMMENT_NODE) {
      if (n->type == XML_TEXT_NODE && !xmlIsBlankNode(n)) {
        gw_problems_add(p, "canonical_invalid", "error", (long)xmlGetLineNo(parent), path, "text where %s expects elements",
                        d->name);
        rc = GW_ESCHEMA;
      }
      continue;
    }
    if (n->type != XML_ELEMENT_NODE) continue;
    const gw_field *f = d->fields;
    while (f->name && strcmp(f->name, (const char *)n->name)) f++;
    int w = snprintf(path + plen, cap - plen, "/%s", (const char *)n->name);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    if (!f->name || !in_ns(n)) {
      gw_problems_add(p, "canonical_invalid", "error", (long)xmlGetLineNo(n), path, "'%s' is not a field of %s",
                      (const char *)n->name, d->name);
      rc = GW_ESCHEMA;
      path[plen] = 0;
      continue;
    }
    char *slot = (char *)obj + f->offset;
    if (f->type == GW_FT_STR) {
      xmlChar *t = xmlNodeGetContent(n);
      int r = gw_model_set((char **)slot, (const char *)t, -1);
      xmlFree(t);
      if (r) return r;
    } else if (f->type == GW_FT_STRUCT) {
      int r = struct_from_xml(f->sub, n, slot, path, l, cap, p);
      if (r == GW_ENOMEM) return r;
      if (r) rc = r;
    } else {
      for (xmlNodePtr e = n->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE) continue;
        if (strcmp((const char *)e->name, f->sub->name) || !in_ns(e)) {
          gw_problems_add(p, "canonical_invalid", "error", (long)xmlGetLineNo(e), path, "%s holds %s elements, not '%s'",
                          f->name, f->sub->name, (const char *)e->name);
          rc = GW_ESCHEMA;
          continue;
        }
        void *el = gw_model_push((void **)slot, (size_t *)((char *)obj + f->count_offset), f->sub->size);
        if (!el) return GW_ENOMEM;
        int r = struct_from_xml(f->sub, e, el, path, l, cap, p);
        if (r == GW_ENOMEM) return r;
        if (r) rc = r;
      }
    }
    path[plen] = 0;
  }
  return rc;
}

int gw_model_from_xml(xmlDocPtr doc, gw_consignment *out, gw_problems *p) {
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!root || strcmp((const char *)root->name, "consignment") || !in_ns(root)) {
    gw_problems_add(p, "canonical_invalid", "error", root ? (long)xmlGetLineNo(root) : 0, "/",
                    "the canonical form has root {%s}consignment", GW_CANONICAL_NS);
    return GW_ESCHEMA;
  }
  char path[512] = "/consignment";
  return struct_from_xml(&gw_consignment_desc, root, out, path, strlen(path), sizeof(path), p);
}
