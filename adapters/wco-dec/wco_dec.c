/* lmcgw — adapter "wco-dec": the WCO Data Model 3.6 goods declaration in the
 * DEC-DMS:2 profile (the public profile of HMRC's Customs Declaration
 * Service), with or without its MetaData envelope, and the RES-DMS:2
 * response to it.
 *
 * Element names, their order and the code shapes are those of the WCO Data
 * Model 3.6 as profiled by HMRC (DMS:2); the function codes of responses
 * (01 accepted, 03 rejected, 05/06 control, 09 cleared) are HMRC's DMS
 * notification codes. The accepted subset is the project's own XSDs in
 * schemas/wco/.
 *
 * Decode reads an XSD-valid document (the caller validated it). Encode
 * builds the document in schema order and, once init() has compiled the
 * XSDs, validates it before returning it: a value the model holds but the
 * profile cannot express (a 40-character LRN, an amount without currency)
 * is then an error, never an invalid document passed on as a success.
 *
 * Ownership: decode fills the caller's consignment; encode returns a new
 * xmlDoc the caller frees. ctx (two compiled schemas) is read-only after
 * init, so concurrent calls only create their own validation contexts. */
#include <ctype.h>
#include <stdarg.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"

#define WD_NS_MD "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"
#define WD_NS_DEC "urn:wco:datamodel:WCO:DEC-DMS:2"
#define WD_NS_DECDS "urn:wco:datamodel:WCO:Declaration_DS:DMS:2"
#define WD_NS_RES "urn:wco:datamodel:WCO:RES-DMS:2"
#define WD_NS_RESDS "urn:wco:datamodel:WCO:Response_DS:DMS:2"

#define WD_XSD_DEC "wco/lmcgw-dec-dms-2.xsd"
#define WD_XSD_RES "wco/lmcgw-res-dms-2.xsd"

typedef struct wd_ctx {
  xmlSchemaPtr dec; /* validates md:MetaData and dec:Declaration */
  xmlSchemaPtr res; /* validates res:Response */
} wd_ctx;

#define WD_TRY(expr)          \
  do {                        \
    int wd_rc_ = (expr);      \
    if (wd_rc_) return wd_rc_; \
  } while (0)

/* ---- paths for problems ------------------------------------------------------ */

/* "/MetaData/Declaration/GoodsShipment/GovernmentAgencyGoodsItem[2]": local
 * names, positions only among same-named siblings (xmlGetNodePath would print
 * "*" for elements in a default namespace). */
static void adapter_wco_dec_path(xmlNodePtr n, char *out, size_t cap) {
  char tmp[256];
  out[0] = 0;
  for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
    int pos = 1, same = 0;
    for (xmlNodePtr s = n->parent ? n->parent->children : NULL; s; s = s->next) {
      if (s->type != XML_ELEMENT_NODE || xmlStrcmp(s->name, n->name)) continue;
      if (s == n) break;
      same = 1;
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

static void adapter_wco_dec_on_error(void *ud, xmlErrorPtr e) {
  gw_problems *p = ud;
  if (!p || !e || e->level == XML_ERR_WARNING) return;
  char path[256] = "";
  xmlNodePtr node = e->node;
  while (node && node->type != XML_ELEMENT_NODE && node->parent) node = node->parent;
  if (node && node->type == XML_ELEMENT_NODE) adapter_wco_dec_path(node, path, sizeof(path));
  size_t len = e->message ? strlen(e->message) : 0;
  while (len && e->message[len - 1] == '\n') len--;
  gw_problems_add(p, "encode_invalid", "error", 0, path, "encoded document is not valid against the project XSD: %.*s",
                  (int)len, e->message ? e->message : "");
}

/* ---- decode helpers ------------------------------------------------------------ */

static int adapter_wco_dec_text(xmlNodePtr n, char **slot) {
  if (!n) return 0;
  xmlChar *t = xmlNodeGetContent(n);
  if (!t) return GW_ENOMEM;
  int rc = gw_model_set(slot, (const char *)t, -1);
  xmlFree(t);
  return rc;
}

static int adapter_wco_dec_attr(xmlNodePtr n, const char *name, char **slot) {
  if (!n) return 0;
  xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
  if (!v) return 0;
  int rc = gw_model_set(slot, (const char *)v, -1);
  xmlFree(v);
  return rc;
}

/* Value with unitCode (measures) or currencyID (amounts). */
static int adapter_wco_dec_qty(xmlNodePtr parent, const char *local, const char *attr, char **value, char **unit) {
  xmlNodePtr n = gw_ad_child(parent, local);
  if (!n) return 0;
  WD_TRY(adapter_wco_dec_text(n, value));
  return adapter_wco_dec_attr(n, attr, unit);
}

static int adapter_wco_dec_measure(xmlNodePtr parent, const char *local, gw_measure *m) {
  return adapter_wco_dec_qty(parent, local, "unitCode", &m->value, &m->unit);
}

static int adapter_wco_dec_amount(xmlNodePtr parent, const char *local, gw_amount *a) {
  return adapter_wco_dec_qty(parent, local, "currencyID", &a->value, &a->currency);
}

static int adapter_wco_dec_alldigits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return 0;
  return 1;
}

/* holder/DateTimeString -> ISO 8601. formatCode 102 is CCYYMMDD, 304 is
 * CCYYMMDDhhmmss with an optional zone (Z or a whole-hour offset +hh)
 * (UN/EDIFACT 2379 qualifiers as the profile uses them). */
static int adapter_wco_dec_date(xmlNodePtr holder, char **slot, gw_problems *p) {
  xmlNodePtr n = gw_ad_child(holder, "DateTimeString");
  if (!n) return 0;
  char *t = NULL, *fmt = NULL, iso[40];
  int rc = adapter_wco_dec_text(n, &t);
  if (!rc) rc = adapter_wco_dec_attr(n, "formatCode", &fmt);
  if (rc) goto out;
  size_t len = t ? strlen(t) : 0;
  int is102 = fmt && !strcmp(fmt, "102"), is304 = fmt && !strcmp(fmt, "304");
  const char *zone = t ? t + 14 : "";
  int ok = t && adapter_wco_dec_alldigits(t, len < 14 ? len : 14);
  if (ok && is102 && len == 8) {
    snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", t, t + 4, t + 6);
  } else if (ok && is304 && len >= 14 &&
             (!*zone || !strcmp(zone, "Z") ||
              ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 3 && adapter_wco_dec_alldigits(zone + 1, 2)))) {
    snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%s%s", t, t + 4, t + 6, t + 8, t + 10, t + 12, zone,
             (*zone == '+' || *zone == '-') ? ":00" : "");
  } else {
    char path[256];
    adapter_wco_dec_path(n, path, sizeof(path));
    gw_problems_add(p, "bad_date", "error", (long)xmlGetLineNo(n), path,
                    "date-time '%s' does not match its formatCode '%s' (102: CCYYMMDD, 304: CCYYMMDDhhmmss[Z|+hh])",
                    t ? t : "", fmt ? fmt : "");
    rc = GW_ESCHEMA;
    goto out;
  }
  rc = gw_model_set(slot, iso, -1);
out:
  free(t);
  free(fmt);
  return rc;
}

/* A document reference. The profile splits a document code into a category
 * (one letter, e.g. N, C, X, Y, Z) and a type (e.g. 935, 355, DCR); the model
 * keeps the joined code ("N935"), as CDS guidance writes it. */
static int adapter_wco_dec_docref(xmlNodePtr n, gw_docref **arr, size_t *cnt) {
  gw_docref *d = GW_MODEL_PUSH(*arr, *cnt);
  if (!d) return GW_ENOMEM;
  char *cat = NULL, *type = NULL;
  int rc = gw_ad_child_str(n, "CategoryCode", &cat);
  if (!rc) rc = gw_ad_child_str(n, "TypeCode", &type);
  if (!rc) rc = gw_ad_child_str(n, "ID", &d->id);
  if (!rc) {
    if (cat && type && strlen(cat) == 1) {
      char code[16];
      snprintf(code, sizeof(code), "%s%s", cat, type);
      rc = gw_model_set(&d->type, code, -1);
    } else {
      rc = gw_model_set(&d->type, type ? type : cat, -1);
    }
  }
  free(cat);
  free(type);
  return rc;
}

static int adapter_wco_dec_docrefs(xmlNodePtr parent, const char *local, gw_docref **arr, size_t *cnt) {
  for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, local))
      WD_TRY(adapter_wco_dec_docref(c, arr, cnt));
  return 0;
}

static int adapter_wco_dec_party(xmlNodePtr n, const char *role, gw_consignment *c) {
  if (!n) return 0;
  gw_party *pt = GW_MODEL_PUSH(c->parties, c->n_parties);
  if (!pt) return GW_ENOMEM;
  WD_TRY(gw_model_set(&pt->role, role, -1));
  WD_TRY(gw_ad_child_str(n, "Name", &pt->name));
  WD_TRY(gw_ad_child_str(n, "ID", &pt->id));
  xmlNodePtr a = gw_ad_child(n, "Address");
  if (!a) return 0;
  WD_TRY(gw_ad_child_str(a, "Line", &pt->address.line));
  WD_TRY(gw_ad_child_str(a, "CityName", &pt->address.city));
  WD_TRY(gw_ad_child_str(a, "PostcodeID", &pt->address.postcode));
  return gw_ad_child_str(a, "CountryCode", &pt->address.country);
}

/* Statements: coded (StatementCode) and/or free text. */
/* A receipt's digest travels as a statement with this code (an lmcgw code:
 * RES-DMS:2 has no digest element). */
#define WD_DIGEST_CODE "LMCGW-DIGEST"

static int adapter_wco_dec_remarks(xmlNodePtr parent, gw_consignment *c) {
  for (xmlNodePtr s = parent->children; s; s = s->next) {
    if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, "AdditionalInformation")) continue;
    xmlNodePtr code = gw_ad_child(s, "StatementCode");
    xmlChar *cv = code ? xmlNodeGetContent(code) : NULL;
    int is_digest = cv && !strcmp((const char *)cv, WD_DIGEST_CODE);
    xmlFree(cv);
    if (is_digest) {
      WD_TRY(gw_ad_child_str(s, "StatementDescription", &c->response.digest));
      continue;
    }
    gw_note *r = GW_MODEL_PUSH(c->remarks, c->n_remarks);
    if (!r) return GW_ENOMEM;
    WD_TRY(gw_ad_child_str(s, "StatementCode", &r->subject));
    WD_TRY(gw_ad_child_str(s, "StatementDescription", &r->text));
  }
  return 0;
}

static int adapter_wco_dec_item(xmlNodePtr gi, gw_consignment *c) {
  gw_item *it = GW_MODEL_PUSH(c->items, c->n_items);
  if (!it) return GW_ENOMEM;
  WD_TRY(gw_ad_child_str(gi, "SequenceNumeric", &it->sequence));
  WD_TRY(adapter_wco_dec_amount(gi, "StatisticalValueAmount", &it->value));
  WD_TRY(adapter_wco_dec_docrefs(gi, "AdditionalDocument", &it->documents, &it->n_documents));
  WD_TRY(adapter_wco_dec_docrefs(gi, "PreviousDocument", &it->documents, &it->n_documents));
  xmlNodePtr com = gw_ad_child(gi, "Commodity");
  if (com) {
    WD_TRY(gw_ad_child_str(com, "Description", &it->description));
    /* The commodity code is the classification typed TSP (the profile's
     * tariff-schedule code) or HS; other types (TRC, TRA, GN...) are
     * additional codes the model has no place for. */
    for (xmlNodePtr cl = com->children; cl && !it->hs_code; cl = cl->next) {
      if (cl->type != XML_ELEMENT_NODE || strcmp((const char *)cl->name, "Classification")) continue;
      char *kind = NULL;
      WD_TRY(gw_ad_child_str(cl, "IdentificationTypeCode", &kind));
      int hs = kind && (!strcmp(kind, "TSP") || !strcmp(kind, "HS"));
      free(kind);
      if (hs) WD_TRY(gw_ad_child_str(cl, "ID", &it->hs_code));
    }
    xmlNodePtr gm = gw_ad_child(com, "GoodsMeasure");
    if (gm) {
      WD_TRY(adapter_wco_dec_measure(gm, "GrossMassMeasure", &it->gross_weight));
      WD_TRY(adapter_wco_dec_measure(gm, "NetNetWeightMeasure", &it->net_weight));
      WD_TRY(adapter_wco_dec_measure(gm, "TariffQuantity", &it->quantity));
    }
  }
  /* The model has one origin and one package line per item: the first. */
  WD_TRY(gw_ad_child_str(gw_ad_child(gi, "Origin"), "CountryCode", &it->origin_country));
  xmlNodePtr pk = gw_ad_child(gi, "Packaging");
  if (pk) {
    WD_TRY(gw_ad_child_str(pk, "TypeCode", &it->package_type));
    WD_TRY(gw_ad_child_str(pk, "QuantityQuantity", &it->package_count));
    WD_TRY(gw_ad_child_str(pk, "MarksNumbersID", &it->package_marks));
  }
  return 0;
}

static int adapter_wco_dec_declaration(xmlNodePtr d, gw_consignment *c, gw_problems *p) {
  WD_TRY(gw_model_set(&c->kind, GW_KIND_DECLARATION, -1));
  WD_TRY(gw_ad_child_str(d, "FunctionCode", &c->function_code));
  WD_TRY(gw_ad_child_str(d, "FunctionalReferenceID", &c->lrn));
  WD_TRY(gw_ad_child_str(d, "ID", &c->mrn));
  WD_TRY(adapter_wco_dec_date(gw_ad_child(d, "IssueDateTime"), &c->issued_at, p));
  /* TypeCode joins DE 1/1 (two letters: EX, IM, CO) and DE 1/2 (one letter:
   * A, D, Z...), e.g. EXD. */
  char *tc = NULL;
  WD_TRY(gw_ad_child_str(d, "TypeCode", &tc));
  if (tc) {
    size_t n = strlen(tc);
    int rc = gw_model_set(&c->type_code, tc, n > 2 ? 2 : (long)n);
    if (!rc && n > 2) rc = gw_model_set(&c->type_extra, tc + 2, -1);
    free(tc);
    if (rc) return rc;
  }
  WD_TRY(gw_ad_child_str(d, "GoodsItemQuantity", &c->declared_items));
  WD_TRY(gw_ad_child_str(d, "DeclarationOfficeID", &c->declaration_office));
  WD_TRY(adapter_wco_dec_amount(d, "InvoiceAmount", &c->invoice));
  WD_TRY(adapter_wco_dec_measure(d, "TotalGrossMassMeasure", &c->total_gross_weight));
  WD_TRY(gw_ad_child_str(d, "TotalPackageQuantity", &c->total_packages));
  WD_TRY(adapter_wco_dec_remarks(d, c));
  WD_TRY(adapter_wco_dec_docrefs(d, "AdditionalDocument", &c->documents, &c->n_documents));

  xmlNodePtr btm = gw_ad_child(d, "BorderTransportMeans");
  if (btm) {
    WD_TRY(gw_ad_child_str(btm, "ID", &c->border_transport.means_id));
    WD_TRY(gw_ad_child_str(btm, "RegistrationNationalityCode", &c->border_transport.nationality));
    WD_TRY(gw_ad_child_str(btm, "ModeCode", &c->border_transport.mode));
  }
  WD_TRY(gw_ad_child_str(gw_ad_child(d, "ExitOffice"), "ID", &c->exit_office));

  xmlNodePtr tcons = gw_ad_child(d, "Consignment");
  xmlNodePtr gs = gw_ad_child(d, "GoodsShipment");
  /* Parties in one fixed role order, whatever aggregate holds them. */
  WD_TRY(adapter_wco_dec_party(gw_ad_child(d, "Exporter"), GW_ROLE_EXPORTER, c));
  WD_TRY(adapter_wco_dec_party(gw_ad_child(gs, "Importer"), GW_ROLE_IMPORTER, c));
  WD_TRY(adapter_wco_dec_party(gw_ad_child(tcons, "Consignor"), GW_ROLE_CONSIGNOR, c));
  WD_TRY(adapter_wco_dec_party(gw_ad_child(gs, "Consignee"), GW_ROLE_CONSIGNEE, c));
  WD_TRY(adapter_wco_dec_party(gw_ad_child(d, "Declarant"), GW_ROLE_DECLARANT, c));
  WD_TRY(adapter_wco_dec_party(gw_ad_child(tcons, "Carrier"), GW_ROLE_CARRIER, c));
  if (!gs) return 0;

  xmlNodePtr sc = gw_ad_child(gs, "Consignment");
  if (sc) {
    WD_TRY(gw_ad_child_str(sc, "ContainerCode", &c->border_transport.container));
    /* Inland transport: departure for exports, arrival for imports; the
     * model has one slot, filled from whichever is there. */
    xmlNodePtr tm = gw_ad_child(sc, "DepartureTransportMeans");
    if (!tm) tm = gw_ad_child(sc, "ArrivalTransportMeans");
    if (tm) {
      WD_TRY(gw_ad_child_str(tm, "ID", &c->departure_transport.means_id));
      WD_TRY(gw_ad_child_str(tm, "ModeCode", &c->departure_transport.mode));
    }
    xmlNodePtr ll = gw_ad_child(sc, "LoadingLocation");
    WD_TRY(gw_ad_child_str(ll, "ID", &c->loading.code));
    WD_TRY(gw_ad_child_str(ll, "Name", &c->loading.name));
    for (xmlNodePtr te = sc->children; te; te = te->next) {
      if (te->type != XML_ELEMENT_NODE || strcmp((const char *)te->name, "TransportEquipment")) continue;
      gw_equipment *eq = GW_MODEL_PUSH(c->equipment, c->n_equipment);
      if (!eq) return GW_ENOMEM;
      WD_TRY(gw_ad_child_str(te, "ID", &eq->id));
      WD_TRY(gw_ad_child_str(gw_ad_child(te, "Seal"), "ID", &eq->seal));
    }
  }
  WD_TRY(gw_ad_child_str(gw_ad_child(gs, "Destination"), "CountryCode", &c->destination_country));
  WD_TRY(gw_ad_child_str(gw_ad_child(gs, "ExportCountry"), "ID", &c->export_country));
  for (xmlNodePtr gi = gs->children; gi; gi = gi->next)
    if (gi->type == XML_ELEMENT_NODE && !strcmp((const char *)gi->name, "GovernmentAgencyGoodsItem"))
      WD_TRY(adapter_wco_dec_item(gi, c));
  WD_TRY(adapter_wco_dec_docrefs(gs, "PreviousDocument", &c->documents, &c->n_documents));
  WD_TRY(gw_ad_child_str(gw_ad_child(gs, "TradeTerms"), "ConditionCode", &c->incoterm));
  xmlNodePtr ucr = gw_ad_child(gs, "UCR");
  WD_TRY(gw_ad_child_str(ucr, "TraderAssignedReferenceID", &c->ucr));
  if (!c->ucr) WD_TRY(gw_ad_child_str(ucr, "ID", &c->ucr));
  return 0;
}

static int adapter_wco_dec_response(xmlNodePtr r, gw_consignment *c, gw_problems *p) {
  WD_TRY(gw_model_set(&c->kind, GW_KIND_RESPONSE, -1));
  WD_TRY(gw_ad_child_str(r, "FunctionCode", &c->response.status));
  WD_TRY(gw_ad_child_str(r, "FunctionalReferenceID", &c->lrn));
  WD_TRY(adapter_wco_dec_date(gw_ad_child(r, "IssueDateTime"), &c->response.issued_at, p));
  WD_TRY(adapter_wco_dec_remarks(r, c));
  for (xmlNodePtr e = r->children; e; e = e->next) {
    if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "Error")) continue;
    gw_note *n = GW_MODEL_PUSH(c->response.errors, c->response.n_errors);
    if (!n) return GW_ENOMEM;
    WD_TRY(gw_ad_child_str(e, "ValidationCode", &n->subject));
    WD_TRY(gw_ad_child_str(e, "Description", &n->text));
  }
  xmlNodePtr d = gw_ad_child(r, "Declaration");
  WD_TRY(gw_ad_child_str(d, "FunctionalReferenceID", &c->response.ref_id));
  return gw_ad_child_str(d, "ID", &c->mrn);
}

static int adapter_wco_dec_is(xmlNodePtr n, const char *local, const char *ns) {
  return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local) && n->ns && n->ns->href &&
         !strcmp((const char *)n->ns->href, ns);
}

static int adapter_wco_dec_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out,
                                  gw_problems *p) {
  (void)a;
  xmlNodePtr root = in && in->doc ? xmlDocGetRootElement(in->doc) : NULL;
  if (!root) {
    gw_problems_add(p, "no_document", "error", 0, "", "wco-dec decodes parsed XML documents only (no document given)");
    return GW_EINVAL;
  }
  int rc;
  if (adapter_wco_dec_is(root, "MetaData", WD_NS_MD)) {
    xmlNodePtr d = gw_ad_child(root, "Declaration");
    if (!adapter_wco_dec_is(d, "Declaration", WD_NS_DEC)) {
      gw_problems_add(p, "missing_element", "error", (long)xmlGetLineNo(root), "/MetaData/Declaration",
                      "the MetaData envelope holds no Declaration in namespace %s", WD_NS_DEC);
      return GW_ESCHEMA;
    }
    rc = adapter_wco_dec_declaration(d, out, p);
  } else if (adapter_wco_dec_is(root, "Declaration", WD_NS_DEC)) {
    rc = adapter_wco_dec_declaration(root, out, p);
  } else if (adapter_wco_dec_is(root, "Response", WD_NS_RES)) {
    rc = adapter_wco_dec_response(root, out, p);
  } else {
    char path[256];
    adapter_wco_dec_path(root, path, sizeof(path));
    gw_problems_add(p, "unknown_document", "error", (long)xmlGetLineNo(root), path,
                    "root {%s}%s is not a DEC-DMS:2 declaration, its MetaData envelope or a RES-DMS:2 response",
                    root->ns && root->ns->href ? (const char *)root->ns->href : "", (const char *)root->name);
    return GW_EUNSUPPORTED;
  }
  if (rc == GW_ENOMEM) gw_problems_add(p, "internal", "error", 0, "", "out of memory while decoding");
  return rc;
}

/* ---- encode helpers ------------------------------------------------------------ */

typedef struct wd_enc {
  xmlNsPtr ns;   /* namespace of the document's elements */
  xmlNsPtr ds;   /* namespace of DateTimeString */
  gw_problems *p;
  int rc;        /* first failure; later calls become no-ops */
} wd_enc;

static int adapter_wco_dec_fail(wd_enc *e, int rc, const char *code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int adapter_wco_dec_fail(wd_enc *e, int rc, const char *code, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (!e->rc) e->rc = rc;
  gw_problems_add(e->p, code, "error", 0, path, "%s", msg);
  return rc;
}

static xmlNodePtr adapter_wco_dec_node(wd_enc *e, xmlNodePtr parent, const char *local) {
  xmlNodePtr n = xmlNewChild(parent, e->ns, BAD_CAST local, NULL);
  if (!n && !e->rc) {
    e->rc = GW_ENOMEM;
    gw_problems_add(e->p, "internal", "error", 0, "", "out of memory while encoding");
  }
  return n;
}

static void adapter_wco_dec_leaf(wd_enc *e, xmlNodePtr parent, const char *local, const char *text) {
  if (text && parent && !gw_ad_add(parent, e->ns, local, text) && !e->rc) {
    e->rc = GW_ENOMEM;
    gw_problems_add(e->p, "internal", "error", 0, "", "out of memory while encoding");
  }
}

/* Containers are built eagerly and dropped again when nothing went in. */
static void adapter_wco_dec_prune(xmlNodePtr n) {
  if (n && !n->children) {
    xmlUnlinkNode(n);
    xmlFreeNode(n);
  }
}

static void adapter_wco_dec_qty_out(wd_enc *e, xmlNodePtr parent, const char *local, const char *value,
                                    const char *attr, const char *unit) {
  if (!value) return;
  xmlNodePtr n = xmlNewTextChild(parent, e->ns, BAD_CAST local, BAD_CAST value);
  if (n && unit) xmlNewProp(n, BAD_CAST attr, BAD_CAST unit);
}

static void adapter_wco_dec_measure_out(wd_enc *e, xmlNodePtr parent, const char *local, const gw_measure *m) {
  adapter_wco_dec_qty_out(e, parent, local, m->value, "unitCode", m->unit);
}

static void adapter_wco_dec_amount_out(wd_enc *e, xmlNodePtr parent, const char *local, const gw_amount *a) {
  adapter_wco_dec_qty_out(e, parent, local, a->value, "currencyID", a->currency);
}

/* ISO 8601 -> DateTimeString: YYYY-MM-DD as 102; YYYY-MM-DDThh:mm:ss with Z
 * or a whole-hour offset (+07:00, +07) as 304; without a zone, the date only. */
static void adapter_wco_dec_date_out(wd_enc *e, xmlNodePtr parent, const char *local, const char *iso,
                                     const char *field) {
  if (!iso) return;
  char buf[32];
  const char *fmt = NULL;
  size_t n = strlen(iso);
  if (n == 10 && iso[4] == '-' && iso[7] == '-') {
    snprintf(buf, sizeof(buf), "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
    fmt = "102";
  } else if (n >= 19 && iso[4] == '-' && iso[7] == '-' && iso[10] == 'T' && iso[13] == ':' && iso[16] == ':') {
    const char *z = iso + 19;
    char zone[4] = "";
    if (!strcmp(z, "Z")) {
      strcpy(zone, "Z");
    } else if ((z[0] == '+' || z[0] == '-') && strlen(z) >= 3 && adapter_wco_dec_alldigits(z + 1, 2) &&
               (!z[3] || !strcmp(z + 3, ":00"))) {
      snprintf(zone, sizeof(zone), "%.3s", z);
    } else if (*z) {
      z = NULL;
    } else {
      /* No zone: DEC-DMS:2 times need one, and guessing it would move the
       * time. Keep the date, and say the time of day is not passed on. */
      gw_problems_add(e->p, "lossy_field", "warning", 0, field,
                      "'%s' has no time zone; DEC-DMS:2 needs one, so only the date is written", iso);
      snprintf(buf, sizeof(buf), "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
      fmt = "102";
      n = 10;
      z = NULL;
    }
    if (z) {
      snprintf(buf, sizeof(buf), "%.4s%.2s%.2s%.2s%.2s%.2s%s", iso, iso + 5, iso + 8, iso + 11, iso + 14, iso + 17,
               zone);
      fmt = "304";
    }
  }
  if (!fmt || !adapter_wco_dec_alldigits(buf, n == 10 ? 8 : 14)) {
    adapter_wco_dec_fail(e, GW_EINVAL, "unsupported_value", field,
                         "date '%s' cannot be written as formatCode 102 (YYYY-MM-DD) or 304 "
                         "(YYYY-MM-DDThh:mm:ss with Z or a whole-hour offset)",
                         iso);
    return;
  }
  xmlNodePtr h = adapter_wco_dec_node(e, parent, local);
  if (!h) return;
  xmlNodePtr s = xmlNewTextChild(h, e->ds, BAD_CAST "DateTimeString", BAD_CAST buf);
  if (s) xmlNewProp(s, BAD_CAST "formatCode", BAD_CAST fmt);
}

/* Inverse of adapter_wco_dec_docref: "N935" -> category N, type 935 (CDS
 * categories are one letter or digit, e.g. 9 in "9120"); codes of up to
 * three characters (UN/EDIFACT 1001) go into TypeCode alone. */
static void adapter_wco_dec_docref_out(wd_enc *e, xmlNodePtr parent, const char *local, const gw_docref *d,
                                       const char *field) {
  xmlNodePtr n = adapter_wco_dec_node(e, parent, local);
  if (!n) return;
  char cat[2] = "";
  const char *type = d->type;
  if (type) {
    size_t len = strlen(type);
    if (len == 4) {
      cat[0] = type[0];
      type++;
    } else if (len > 3) {
      adapter_wco_dec_fail(e, GW_EINVAL, "unsupported_value", field,
                           "document code '%s' is neither a code of up to 3 characters nor a category "
                           "character followed by 3 characters",
                           d->type);
      return;
    }
  }
  adapter_wco_dec_leaf(e, n, "CategoryCode", cat[0] ? cat : NULL);
  adapter_wco_dec_leaf(e, n, "ID", d->id);
  adapter_wco_dec_leaf(e, n, "TypeCode", type);
}

static void adapter_wco_dec_remarks_out(wd_enc *e, xmlNodePtr parent, const gw_consignment *c) {
  for (size_t i = 0; i < c->n_remarks; i++) {
    xmlNodePtr s = adapter_wco_dec_node(e, parent, "AdditionalInformation");
    adapter_wco_dec_leaf(e, s, "StatementCode", c->remarks[i].subject);
    adapter_wco_dec_leaf(e, s, "StatementDescription", c->remarks[i].text);
  }
}

/* The profile has one party per role; a second one of a role, or a role it
 * does not know, is reported as lost (adapter.h: carries cannot say so). */
static const gw_party *adapter_wco_dec_role(const gw_consignment *c, const char *role, gw_problems *p) {
  const gw_party *found = NULL;
  for (size_t i = 0; i < c->n_parties; i++) {
    if (!c->parties[i].role || strcmp(c->parties[i].role, role)) continue;
    if (!found) {
      found = &c->parties[i];
    } else {
      char path[64];
      snprintf(path, sizeof(path), "parties[%zu]", i);
      gw_problems_add(p, "lossy_field", "warning", 0, path,
                      "DEC-DMS:2 has one %s; this further one is not written", role);
    }
  }
  return found;
}

static void adapter_wco_dec_party_out(wd_enc *e, xmlNodePtr parent, const char *local, const gw_consignment *c,
                                      const char *role) {
  const gw_party *pt = adapter_wco_dec_role(c, role, e->p);
  if (!pt) return;
  xmlNodePtr n = adapter_wco_dec_node(e, parent, local);
  if (!n) return;
  adapter_wco_dec_leaf(e, n, "Name", pt->name);
  adapter_wco_dec_leaf(e, n, "ID", pt->id);
  xmlNodePtr a = adapter_wco_dec_node(e, n, "Address");
  if (!a) return;
  /* The consignor's address has the place-address layout (no subdivision
   * fields); the four carried fields are in the same order in both. */
  adapter_wco_dec_leaf(e, a, "CityName", pt->address.city);
  adapter_wco_dec_leaf(e, a, "CountryCode", pt->address.country);
  adapter_wco_dec_leaf(e, a, "Line", pt->address.line);
  adapter_wco_dec_leaf(e, a, "PostcodeID", pt->address.postcode);
  adapter_wco_dec_prune(a);
}

static void adapter_wco_dec_item_out(wd_enc *e, xmlNodePtr gs, const gw_item *it, size_t idx) {
  xmlNodePtr gi = adapter_wco_dec_node(e, gs, "GovernmentAgencyGoodsItem");
  if (!gi) return;
  char seq[24];
  snprintf(seq, sizeof(seq), "%zu", idx + 1);
  /* SequenceNumeric is mandatory: the position stands in when the model has none. */
  adapter_wco_dec_leaf(e, gi, "SequenceNumeric", it->sequence ? it->sequence : seq);
  adapter_wco_dec_amount_out(e, gi, "StatisticalValueAmount", &it->value);
  for (size_t j = 0; j < it->n_documents; j++) {
    char path[96];
    snprintf(path, sizeof(path), "items[%zu].documents[%zu].type", idx, j);
    adapter_wco_dec_docref_out(e, gi, "AdditionalDocument", &it->documents[j], path);
  }
  xmlNodePtr com = adapter_wco_dec_node(e, gi, "Commodity");
  adapter_wco_dec_leaf(e, com, "Description", it->description);
  if (it->hs_code) {
    xmlNodePtr cl = adapter_wco_dec_node(e, com, "Classification");
    adapter_wco_dec_leaf(e, cl, "ID", it->hs_code);
    adapter_wco_dec_leaf(e, cl, "IdentificationTypeCode", "HS");
  }
  xmlNodePtr gm = adapter_wco_dec_node(e, com, "GoodsMeasure");
  adapter_wco_dec_measure_out(e, gm, "GrossMassMeasure", &it->gross_weight);
  adapter_wco_dec_measure_out(e, gm, "NetNetWeightMeasure", &it->net_weight);
  adapter_wco_dec_measure_out(e, gm, "TariffQuantity", &it->quantity);
  adapter_wco_dec_prune(gm);
  adapter_wco_dec_prune(com);
  if (it->origin_country) {
    xmlNodePtr o = adapter_wco_dec_node(e, gi, "Origin");
    adapter_wco_dec_leaf(e, o, "CountryCode", it->origin_country);
  }
  if (it->package_type || it->package_count || it->package_marks) {
    xmlNodePtr pk = adapter_wco_dec_node(e, gi, "Packaging");
    adapter_wco_dec_leaf(e, pk, "SequenceNumeric", "1");
    adapter_wco_dec_leaf(e, pk, "MarksNumbersID", it->package_marks);
    adapter_wco_dec_leaf(e, pk, "QuantityQuantity", it->package_count);
    adapter_wco_dec_leaf(e, pk, "TypeCode", it->package_type);
  }
}

static int adapter_wco_dec_country_ok(const char *s) {
  return s && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) && !s[2];
}

/* The country whose customs receive the declaration: the import side for
 * imports, the export side otherwise. */
static const char *adapter_wco_dec_responsible(const gw_consignment *c) {
  int import = c->type_code && !strncmp(c->type_code, "IM", 2);
  const char *order[] = {import ? c->import_country : c->export_country,
                         import ? c->destination_country : c->dispatch_country,
                         import ? c->export_country : c->import_country,
                         import ? c->dispatch_country : c->destination_country};
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (adapter_wco_dec_country_ok(order[i])) return order[i];
  return "ZZ"; /* ISO 3166-1 user-assigned: unknown */
}

/* Parts of the model the chosen document type has no place for. The
 * registry's lossy check goes by `carries`, which cannot tell a response
 * from a declaration, nor a known role from an unknown one. */
static void adapter_wco_dec_lost(gw_problems *p, const char *path, const char *what) {
  gw_problems_add(p, "lossy_field", "warning", 0, path, "%s", what);
}

static void adapter_wco_dec_check_lost(const gw_consignment *c, int response, gw_problems *p) {
  if (response) {
    if (c->n_items) adapter_wco_dec_lost(p, "items", "a RES-DMS:2 response carries no goods items");
    if (c->n_parties) adapter_wco_dec_lost(p, "parties", "a RES-DMS:2 response carries no parties");
    if (c->n_documents) adapter_wco_dec_lost(p, "documents", "a RES-DMS:2 response carries no documents");
    if (c->n_equipment) adapter_wco_dec_lost(p, "equipment", "a RES-DMS:2 response carries no equipment");
    return;
  }
  if (c->response.status || c->response.n_errors || c->response.ref_id || c->response.issued_at)
    adapter_wco_dec_lost(p, "response", "a DEC-DMS:2 declaration carries no response part");
  static const char *const roles[] = {GW_ROLE_EXPORTER,  GW_ROLE_IMPORTER,  GW_ROLE_CONSIGNOR,
                                      GW_ROLE_CONSIGNEE, GW_ROLE_DECLARANT, GW_ROLE_CARRIER};
  for (size_t i = 0; i < c->n_parties; i++) {
    int known = 0;
    for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]) && !known; r++)
      known = c->parties[i].role && !strcmp(c->parties[i].role, roles[r]);
    if (!known) {
      char path[64];
      snprintf(path, sizeof(path), "parties[%zu].role", i);
      gw_problems_add(p, "lossy_field", "warning", 0, path, "DEC-DMS:2 has no party role '%s'; not written",
                      c->parties[i].role ? c->parties[i].role : "");
    }
  }
}

static void adapter_wco_dec_declaration_out(wd_enc *e, xmlNodePtr d, const gw_consignment *c) {
  if (!c->function_code) {
    adapter_wco_dec_fail(e, GW_EINVAL, "missing_field", "function_code",
                         "a DEC-DMS:2 declaration needs a FunctionCode (9 original, 13 request, 14 amendment)");
    return;
  }
  adapter_wco_dec_leaf(e, d, "FunctionCode", c->function_code);
  adapter_wco_dec_leaf(e, d, "FunctionalReferenceID", c->lrn);
  adapter_wco_dec_leaf(e, d, "ID", c->mrn);
  adapter_wco_dec_date_out(e, d, "IssueDateTime", c->issued_at, "issued_at");
  if (c->type_code || c->type_extra) {
    size_t tl = c->type_code ? strlen(c->type_code) : 0, xl = c->type_extra ? strlen(c->type_extra) : 0;
    if (tl > 2 || (xl && (tl != 2 || xl != 1))) {
      char both[64];
      snprintf(both, sizeof(both), "%s/%s", c->type_code ? c->type_code : "", c->type_extra ? c->type_extra : "");
      adapter_wco_dec_fail(e, GW_EINVAL, "unsupported_value", "type_code",
                           "type '%s' cannot be written as TypeCode: two letters (EX, IM, CO) and optionally "
                           "one more (type_extra) are expected",
                           both);
      return;
    }
    char tc[8];
    snprintf(tc, sizeof(tc), "%s%s", c->type_code ? c->type_code : "", c->type_extra ? c->type_extra : "");
    adapter_wco_dec_leaf(e, d, "TypeCode", tc);
  }
  adapter_wco_dec_leaf(e, d, "GoodsItemQuantity", c->declared_items);
  adapter_wco_dec_leaf(e, d, "DeclarationOfficeID", c->declaration_office);
  adapter_wco_dec_amount_out(e, d, "InvoiceAmount", &c->invoice);
  adapter_wco_dec_measure_out(e, d, "TotalGrossMassMeasure", &c->total_gross_weight);
  adapter_wco_dec_leaf(e, d, "TotalPackageQuantity", c->total_packages);
  adapter_wco_dec_remarks_out(e, d, c);

  const gw_transport *bt = &c->border_transport;
  if (bt->means_id || bt->nationality || bt->mode) {
    xmlNodePtr n = adapter_wco_dec_node(e, d, "BorderTransportMeans");
    adapter_wco_dec_leaf(e, n, "ID", bt->means_id);
    adapter_wco_dec_leaf(e, n, "RegistrationNationalityCode", bt->nationality);
    adapter_wco_dec_leaf(e, n, "ModeCode", bt->mode);
  }
  xmlNodePtr tcons = adapter_wco_dec_node(e, d, "Consignment");
  adapter_wco_dec_party_out(e, tcons, "Carrier", c, GW_ROLE_CARRIER);
  adapter_wco_dec_party_out(e, tcons, "Consignor", c, GW_ROLE_CONSIGNOR);
  adapter_wco_dec_prune(tcons);
  adapter_wco_dec_party_out(e, d, "Declarant", c, GW_ROLE_DECLARANT);
  if (c->exit_office) {
    xmlNodePtr n = adapter_wco_dec_node(e, d, "ExitOffice");
    adapter_wco_dec_leaf(e, n, "ID", c->exit_office);
  }
  adapter_wco_dec_party_out(e, d, "Exporter", c, GW_ROLE_EXPORTER);

  xmlNodePtr gs = adapter_wco_dec_node(e, d, "GoodsShipment");
  if (!gs) return;
  adapter_wco_dec_party_out(e, gs, "Consignee", c, GW_ROLE_CONSIGNEE);
  xmlNodePtr sc = adapter_wco_dec_node(e, gs, "Consignment");
  adapter_wco_dec_leaf(e, sc, "ContainerCode", bt->container);
  const gw_transport *dt = &c->departure_transport;
  if (dt->means_id || dt->mode) {
    int import = c->type_code && !strcmp(c->type_code, "IM");
    xmlNodePtr n = adapter_wco_dec_node(e, sc, import ? "ArrivalTransportMeans" : "DepartureTransportMeans");
    adapter_wco_dec_leaf(e, n, "ID", dt->means_id);
    adapter_wco_dec_leaf(e, n, "ModeCode", dt->mode);
  }
  if (c->loading.code || c->loading.name) {
    xmlNodePtr n = adapter_wco_dec_node(e, sc, "LoadingLocation");
    adapter_wco_dec_leaf(e, n, "Name", c->loading.name);
    adapter_wco_dec_leaf(e, n, "ID", c->loading.code);
  }
  for (size_t i = 0; i < c->n_equipment; i++) {
    xmlNodePtr te = adapter_wco_dec_node(e, sc, "TransportEquipment");
    char seq[24];
    snprintf(seq, sizeof(seq), "%zu", i + 1);
    adapter_wco_dec_leaf(e, te, "SequenceNumeric", seq);
    adapter_wco_dec_leaf(e, te, "ID", c->equipment[i].id);
    if (c->equipment[i].seal) {
      xmlNodePtr s = adapter_wco_dec_node(e, te, "Seal");
      adapter_wco_dec_leaf(e, s, "SequenceNumeric", "1");
      adapter_wco_dec_leaf(e, s, "ID", c->equipment[i].seal);
    }
  }
  adapter_wco_dec_prune(sc);
  if (c->destination_country) {
    xmlNodePtr n = adapter_wco_dec_node(e, gs, "Destination");
    adapter_wco_dec_leaf(e, n, "CountryCode", c->destination_country);
  }
  if (c->export_country) {
    xmlNodePtr n = adapter_wco_dec_node(e, gs, "ExportCountry");
    adapter_wco_dec_leaf(e, n, "ID", c->export_country);
  }
  for (size_t i = 0; i < c->n_items; i++) adapter_wco_dec_item_out(e, gs, &c->items[i], i);
  adapter_wco_dec_party_out(e, gs, "Importer", c, GW_ROLE_IMPORTER);
  /* Header documents all go out as previous documents (the decoder reads
   * both AdditionalDocument and PreviousDocument into one list). */
  for (size_t i = 0; i < c->n_documents; i++) {
    char path[64];
    snprintf(path, sizeof(path), "documents[%zu].type", i);
    adapter_wco_dec_docref_out(e, gs, "PreviousDocument", &c->documents[i], path);
  }
  if (c->incoterm) {
    xmlNodePtr n = adapter_wco_dec_node(e, gs, "TradeTerms");
    adapter_wco_dec_leaf(e, n, "ConditionCode", c->incoterm);
  }
  if (c->ucr) {
    xmlNodePtr n = adapter_wco_dec_node(e, gs, "UCR");
    adapter_wco_dec_leaf(e, n, "TraderAssignedReferenceID", c->ucr);
  }
  adapter_wco_dec_prune(gs);
}

/* HMRC DMS notification function codes for lmcgw's decisions, used only
 * when the model has a decision but no status code. */
static const char *adapter_wco_dec_status_for(const char *decision) {
  static const char *const map[][2] = {
      {"ACCEPTED", "01"}, {"REFUSED", "03"}, {"INSPECTION_REQUIRED", "05"}, {"RELEASED", "09"}};
  for (size_t i = 0; decision && i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(decision, map[i][0])) return map[i][1];
  return NULL;
}

static void adapter_wco_dec_response_out(wd_enc *e, xmlNodePtr r, const gw_consignment *c) {
  const char *fc = c->response.status ? c->response.status : adapter_wco_dec_status_for(c->response.decision);
  if (!fc) {
    adapter_wco_dec_fail(e, GW_EINVAL, "missing_field", "response.status",
                         "a RES-DMS:2 response needs a FunctionCode: set response.status (or a known "
                         "response.decision)");
    return;
  }
  adapter_wco_dec_leaf(e, r, "FunctionCode", fc);
  adapter_wco_dec_leaf(e, r, "FunctionalReferenceID", c->lrn);
  adapter_wco_dec_date_out(e, r, "IssueDateTime", c->response.issued_at, "response.issued_at");
  adapter_wco_dec_remarks_out(e, r, c);
  if (c->response.digest) {
    xmlNodePtr s = adapter_wco_dec_node(e, r, "AdditionalInformation");
    adapter_wco_dec_leaf(e, s, "StatementCode", WD_DIGEST_CODE);
    adapter_wco_dec_leaf(e, s, "StatementDescription", c->response.digest);
  }
  for (size_t i = 0; i < c->response.n_errors; i++) {
    xmlNodePtr n = adapter_wco_dec_node(e, r, "Error");
    adapter_wco_dec_leaf(e, n, "Description", c->response.errors[i].text);
    adapter_wco_dec_leaf(e, n, "ValidationCode", c->response.errors[i].subject);
  }
  if (c->response.ref_id || c->mrn) {
    xmlNodePtr d = adapter_wco_dec_node(e, r, "Declaration");
    adapter_wco_dec_leaf(e, d, "FunctionalReferenceID", c->response.ref_id);
    adapter_wco_dec_leaf(e, d, "ID", c->mrn);
  }
}

static int adapter_wco_dec_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out,
                                  gw_problems *p) {
  int response = c->kind && !strcmp(c->kind, GW_KIND_RESPONSE);
  if (c->kind && !response && strcmp(c->kind, GW_KIND_DECLARATION)) {
    gw_problems_add(p, "unsupported_kind", "error", 0, "kind",
                    "wco-dec writes declarations and responses, not '%s'", c->kind);
    return GW_EUNSUPPORTED;
  }
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST(response ? "Response" : "MetaData"), NULL) : NULL;
  if (!root) {
    xmlFreeDoc(doc);
    gw_problems_add(p, "internal", "error", 0, "", "out of memory while encoding");
    return GW_ENOMEM;
  }
  xmlDocSetRootElement(doc, root);
  wd_enc e = {.p = p};
  adapter_wco_dec_check_lost(c, response, p);
  if (response) {
    e.ns = xmlNewNs(root, BAD_CAST WD_NS_RES, NULL);
    e.ds = xmlNewNs(root, BAD_CAST WD_NS_RESDS, BAD_CAST "rds");
    xmlSetNs(root, e.ns);
    adapter_wco_dec_response_out(&e, root, c);
  } else {
    xmlNsPtr md = xmlNewNs(root, BAD_CAST WD_NS_MD, BAD_CAST "md");
    e.ns = xmlNewNs(root, BAD_CAST WD_NS_DEC, NULL);
    e.ds = xmlNewNs(root, BAD_CAST WD_NS_DECDS, BAD_CAST "wds");
    xmlSetNs(root, md);
    xmlNewChild(root, md, BAD_CAST "WCODataModelVersionCode", BAD_CAST "3.6");
    xmlNewChild(root, md, BAD_CAST "WCOTypeName", BAD_CAST "DEC");
    const char *cc = adapter_wco_dec_responsible(c);
    xmlNewChild(root, md, BAD_CAST "ResponsibleCountryCode", BAD_CAST cc);
    char agency[40];
    snprintf(agency, sizeof(agency), "Customs administration %s", cc);
    xmlNewChild(root, md, BAD_CAST "ResponsibleAgencyName", BAD_CAST agency);
    xmlNewChild(root, md, BAD_CAST "AgencyAssignedCustomizationCode", BAD_CAST "LMCGW");
    xmlNewChild(root, md, BAD_CAST "AgencyAssignedCustomizationVersionCode", BAD_CAST "1.0");
    xmlNodePtr d = adapter_wco_dec_node(&e, root, "Declaration");
    if (d) adapter_wco_dec_declaration_out(&e, d, c);
  }
  const wd_ctx *x = a ? a->ctx : NULL;
  xmlSchemaPtr schema = x ? (response ? x->res : x->dec) : NULL;
  if (!e.rc && schema) {
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    if (!vc) {
      e.rc = GW_ENOMEM;
      gw_problems_add(p, "internal", "error", 0, "", "out of memory while validating");
    } else {
      xmlSchemaSetValidStructuredErrors(vc, adapter_wco_dec_on_error, p);
      if (xmlSchemaValidateDoc(vc, doc) != 0) {
        e.rc = GW_ESCHEMA;
        gw_problems_add(p, "encode_invalid", "error", 0, "",
                        "the model holds values DEC-DMS:2/RES-DMS:2 cannot express (see the problems above)");
      }
      xmlSchemaFreeValidCtxt(vc);
    }
  }
  if (e.rc) {
    xmlFreeDoc(doc);
    return e.rc;
  }
  out->doc = doc;
  return 0;
}

/* ---- life cycle ---------------------------------------------------------------- */

static xmlSchemaPtr adapter_wco_dec_load(const char *dir, const char *rel, gw_error *err) {
  char path[4096];
  int w = snprintf(path, sizeof(path), "%s/%s", dir, rel);
  if (w < 0 || (size_t)w >= sizeof(path)) {
    GW_ERR(err, GW_ECONFIG, "schema directory path too long: %s", dir);
    return NULL;
  }
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
  xmlSchemaPtr s = pc ? xmlSchemaParse(pc) : NULL;
  xmlSchemaFreeParserCtxt(pc);
  if (!s) GW_ERR(err, GW_ECONFIG, "wco-dec: cannot load XSD %s", path);
  return s;
}

static void adapter_wco_dec_exit(gw_adapter *a) {
  wd_ctx *x = a ? a->ctx : NULL;
  if (!x) return;
  if (x->dec) xmlSchemaFree(x->dec);
  if (x->res) xmlSchemaFree(x->res);
  free(x);
  a->ctx = NULL;
}

/* The XSDs import each other from disk; the process-wide loader refuses all
 * external loads (gw_xml_global_init), so allow local files while compiling.
 * init() runs once on the main thread, before any worker parses. */
static xmlParserInputPtr adapter_wco_dec_local_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)id;
  if (!url || (strstr(url, "://") && strncmp(url, "file://", 7))) return NULL;
  return xmlNewInputFromFile(ctxt, url);
}

static int adapter_wco_dec_init(gw_adapter *a, const char *schema_dir, gw_error *err) {
  wd_ctx *x = calloc(1, sizeof(*x));
  if (!x) return GW_ERR(err, GW_ENOMEM, "out of memory");
  a->ctx = x;
  xmlExternalEntityLoader prev = xmlGetExternalEntityLoader();
  xmlSetExternalEntityLoader(adapter_wco_dec_local_loader);
  x->dec = adapter_wco_dec_load(schema_dir, WD_XSD_DEC, err);
  x->res = x->dec ? adapter_wco_dec_load(schema_dir, WD_XSD_RES, err) : NULL;
  xmlSetExternalEntityLoader(prev);
  if (!x->res) {
    adapter_wco_dec_exit(a);
    return GW_ECONFIG;
  }
  return 0;
}

static const gw_adapter_root adapter_wco_dec_roots[] = {
    {"MetaData", WD_NS_MD, GW_KIND_DECLARATION, WD_XSD_DEC},
    {"Declaration", WD_NS_DEC, GW_KIND_DECLARATION, WD_XSD_DEC},
    {"Response", WD_NS_RES, GW_KIND_RESPONSE, WD_XSD_RES},
    {NULL, NULL, NULL, NULL},
};

/* Per kind: a DEC declaration has no response part, a RES response only its
 * references and the response itself. */
static const char *const adapter_wco_dec_carries[] = {
    "parties.role=exporter", "parties.role=importer", "parties.role=consignor", "parties.role=consignee",
    "parties.role=declarant", "parties.role=carrier",
    "declaration:type_code", "declaration:type_extra", "declaration:function_code", "declaration:lrn",
    "declaration:ucr", "declaration:mrn", "declaration:issued_at", "declaration:declaration_office",
    "declaration:exit_office", "declaration:export_country", "declaration:destination_country",
    "declaration:loading.code", "declaration:loading.name", "declaration:border_transport.mode",
    "declaration:border_transport.means_id", "declaration:border_transport.nationality",
    "declaration:border_transport.container", "declaration:departure_transport.mode",
    "declaration:departure_transport.means_id", "declaration:incoterm", "declaration:invoice.*",
    "declaration:total_packages", "declaration:declared_items", "declaration:total_gross_weight.*",
    "declaration:parties.role", "declaration:parties.id", "declaration:parties.name",
    "declaration:parties.address.line", "declaration:parties.address.city", "declaration:parties.address.postcode",
    "declaration:parties.address.country", "declaration:items.sequence", "declaration:items.hs_code",
    "declaration:items.description", "declaration:items.quantity.*", "declaration:items.gross_weight.*",
    "declaration:items.net_weight.*", "declaration:items.value.*", "declaration:items.origin_country",
    "declaration:items.package_type", "declaration:items.package_count", "declaration:items.package_marks",
    "declaration:items.documents.type", "declaration:items.documents.id", "declaration:documents.type",
    "declaration:documents.id", "declaration:equipment.id", "declaration:equipment.seal", "declaration:remarks.*",
    "response:lrn", "response:mrn", "response:response.status", "response:response.issued_at",
    "response:response.ref_id", "response:response.errors.*", "response:response.digest", "response:remarks.*",
    NULL};

const gw_adapter gw_adapter_wco_dec = {
    .abi = GW_ADAPTER_ABI,
    .name = "wco-dec",
    .description = "WCO Data Model 3.6 declaration, DEC-DMS:2 profile (HMRC CDS) with MetaData, and RES-DMS:2 response",
    .media_type = "application/xml",
    .kinds = GW_KIND_DECLARATION "," GW_KIND_RESPONSE,
    .roots = adapter_wco_dec_roots,
    .carries = adapter_wco_dec_carries,
    .detect = NULL,
    .decode = adapter_wco_dec_decode,
    .encode = adapter_wco_dec_encode,
    .init = adapter_wco_dec_init,
    .exit = adapter_wco_dec_exit,
    .ctx = NULL,
};
