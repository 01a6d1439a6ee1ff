/* lmcgw — adapter for the UN/CEFACT SPS Certificate 17 (ePhyto, TRACES NT)
 * and the SPS Acknowledgement 17.
 *
 * Decode reads by local name, in any order, because certificates in
 * circulation do not keep the library's element order (see
 * schemas/sps/lmcgw-ram-21.xsd); the accepting XSD has already typed the
 * content, so this file checks what the lenient XSD cannot (one ID, one type
 * code, a sequence number per line) and says what it leaves out (attachments,
 * extra transport legs, item notes...) instead of dropping it in silence.
 * Encode writes the standard element order (schemas/sps/emit/).
 *
 * Mapping conventions (ePhyto guidelines, element and code names are the
 * standard's):
 * - treatment facts are AppliedSPSProcess characteristics keyed by the code in
 *   their first Description: TTCH chemical, TTCO concentration, TTTM
 *   temperature; duration and date are CompletionSPSPeriod;
 * - a measure becomes "value unit" text ("2.5 KX") and back;
 * - acknowledgement errors travel as ReasonInformation "[code] text". */
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"

#define SPS_NS_CERT "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
#define SPS_NS_ACK "urn:un:unece:uncefact:data:standard:SPSAcknowledgement:17"
#define SPS_NS_RAM "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
#define SPS_NS_UDT "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"

/* ---- decode ---------------------------------------------------------------- */

#define SPS_MAX_SEEN 64

typedef struct adapter_sps_dec {
  gw_problems *p;
  int rc;                          /* first GW_ENOMEM, else 0 */
  int errors;                      /* structure errors found */
  char seen[SPS_MAX_SEEN][96];     /* "Parent/Child" already reported as not carried */
  size_t n_seen;
} adapter_sps_dec;

static int adapter_sps_is(xmlNodePtr n, const char *local) {
  return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local);
}

/* XPath-like location by local names, with [n] where a name repeats. */
static void adapter_sps_path(xmlNodePtr n, char *buf, size_t len) {
  xmlNodePtr chain[40];
  int k = 0;
  for (xmlNodePtr x = n; x && x->type == XML_ELEMENT_NODE && k < 40; x = x->parent) chain[k++] = x;
  size_t off = 0;
  buf[0] = '\0';
  for (int i = k - 1; i >= 0 && off < len; i--) {
    int idx = 0, total = 0;
    xmlNodePtr first = chain[i]->parent ? chain[i]->parent->children : chain[i];
    for (xmlNodePtr s = first; s; s = s->next)
      if (adapter_sps_is(s, (const char *)chain[i]->name)) {
        total++;
        if (s == chain[i]) idx = total;
      }
    int w = total > 1 ? snprintf(buf + off, len - off, "/%s[%d]", (const char *)chain[i]->name, idx)
                      : snprintf(buf + off, len - off, "/%s", (const char *)chain[i]->name);
    if (w < 0) break;
    off += (size_t)w;
  }
}

static void adapter_sps_problem(adapter_sps_dec *d, const char *code, const char *sev, xmlNodePtr at,
                                const char *child, const char *msg) {
  char path[256];
  adapter_sps_path(at, path, sizeof path);
  if (child) {
    size_t l = strlen(path);
    snprintf(path + l, sizeof path - l, "/%s", child);
  }
  gw_problems_add(d->p, code, sev, at ? xmlGetLineNo(at) : 0, path, "%s", msg);
  if (!strcmp(sev, "error")) d->errors++;
}

/* Sets *slot from the element's trimmed text unless already set, so the first
 * non-empty occurrence wins (ePhyto repeats texts per language). */
static void adapter_sps_take(adapter_sps_dec *d, char **slot, xmlNodePtr n) {
  if (!n || *slot) return;
  xmlChar *t = xmlNodeGetContent(n);
  if (!t) {
    d->rc = GW_ENOMEM;
    return;
  }
  if (gw_model_set(slot, (const char *)t, -1)) d->rc = GW_ENOMEM;
  xmlFree(t);
}

static void adapter_sps_child(adapter_sps_dec *d, char **slot, xmlNodePtr parent, const char *local) {
  if (!parent) return;
  for (xmlNodePtr c = parent->children; c && !*slot; c = c->next)
    if (adapter_sps_is(c, local)) adapter_sps_take(d, slot, c);
}

/* Appends the element's text to *slot with sep (several chemicals, address lines). */
static void adapter_sps_append(adapter_sps_dec *d, char **slot, xmlNodePtr n, const char *sep) {
  char *t = NULL;
  adapter_sps_take(d, &t, n);
  if (!t) return;
  if (!*slot) {
    *slot = t;
    return;
  }
  size_t a = strlen(*slot), b = strlen(t), s = strlen(sep);
  char *j = malloc(a + s + b + 1);
  if (!j) {
    d->rc = GW_ENOMEM;
    free(t);
    return;
  }
  memcpy(j, *slot, a);
  memcpy(j + a, sep, s);
  memcpy(j + a + s, t, b + 1);
  free(*slot);
  free(t);
  *slot = j;
}

/* "value unit" from a measure element. */
static void adapter_sps_measure_text(adapter_sps_dec *d, char **slot, xmlNodePtr n) {
  if (!n || *slot) return;
  char *v = NULL;
  adapter_sps_take(d, &v, n);
  if (!v) return;
  xmlChar *u = xmlGetProp(n, BAD_CAST "unitCode");
  if (u && *u) {
    size_t l = strlen(v) + strlen((const char *)u) + 2;
    char *j = malloc(l);
    if (!j) d->rc = GW_ENOMEM;
    else {
      snprintf(j, l, "%s %s", v, (const char *)u);
      if (gw_model_set(slot, j, -1)) d->rc = GW_ENOMEM;
    }
    free(j);
    free(v);
  } else {
    *slot = v;
  }
  xmlFree(u);
}

static void adapter_sps_measure(adapter_sps_dec *d, gw_measure *m, xmlNodePtr n) {
  if (!n || m->value) return;
  adapter_sps_take(d, &m->value, n);
  xmlChar *u = xmlGetProp(n, BAD_CAST "unitCode");
  if (u && gw_model_set(&m->unit, (const char *)u, -1)) d->rc = GW_ENOMEM;
  xmlFree(u);
}

/* Reports, once per parent/child name, an element lmcgw does not carry. */
static void adapter_sps_not_carried(adapter_sps_dec *d, xmlNodePtr n, const char *why) {
  char key[96];
  snprintf(key, sizeof key, "%s/%s", n->parent ? (const char *)n->parent->name : "",
           (const char *)n->name);
  for (size_t i = 0; i < d->n_seen; i++)
    if (!strcmp(d->seen[i], key)) return;
  if (d->n_seen < SPS_MAX_SEEN) memcpy(d->seen[d->n_seen++], key, sizeof key);
  char msg[256];
  if (why) snprintf(msg, sizeof msg, "%s is not passed on: %s", (const char *)n->name, why);
  else snprintf(msg, sizeof msg, "%s is not in the canonical model; it is not passed on", (const char *)n->name);
  adapter_sps_problem(d, "not_carried", "info", n, NULL, msg);
}

static int adapter_sps_in(const char *name, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(name, *list)) return 1;
  return 0;
}

/* Every element child of parent whose name is not in `mapped` is reported. */
static void adapter_sps_report_rest(adapter_sps_dec *d, xmlNodePtr parent, const char *const *mapped) {
  for (xmlNodePtr c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !adapter_sps_in((const char *)c->name, mapped))
      adapter_sps_not_carried(d, c, NULL);
}

/* Single-valued facts the lenient XSD lets repeat: a second one is an error,
 * since picking one would silently change the certificate. */
static xmlNodePtr adapter_sps_single(adapter_sps_dec *d, xmlNodePtr parent, const char *local, int required) {
  xmlNodePtr found = NULL;
  for (xmlNodePtr c = parent->children; c; c = c->next) {
    if (!adapter_sps_is(c, local)) continue;
    if (found) {
      char msg[160];
      snprintf(msg, sizeof msg, "%s occurs more than once; a certificate has exactly one", local);
      adapter_sps_problem(d, "duplicate_element", "error", c, NULL, msg);
      return found;
    }
    found = c;
  }
  if (required) {
    char *t = NULL;
    adapter_sps_take(d, &t, found);
    if (!t) {
      char msg[160];
      snprintf(msg, sizeof msg, "%s is missing or empty; it is required", local);
      adapter_sps_problem(d, "missing_element", "error", found ? found : parent, found ? NULL : local, msg);
    }
    free(t);
  }
  return found;
}

static void adapter_sps_address(adapter_sps_dec *d, gw_address *a, xmlNodePtr n) {
  if (!n) return;
  static const char *const lines[] = {"LineOne", "LineTwo", "LineThree", "LineFour", "LineFive", NULL};
  for (const char *const *l = lines; *l; l++)
    for (xmlNodePtr c = n->children; c; c = c->next)
      if (adapter_sps_is(c, *l)) adapter_sps_append(d, &a->line, c, ", ");
  adapter_sps_child(d, &a->city, n, "CityName");
  adapter_sps_child(d, &a->postcode, n, "PostcodeCode");
  adapter_sps_child(d, &a->subdivision, n, "CountrySubDivisionName");
  adapter_sps_child(d, &a->country, n, "CountryID");
}

static void adapter_sps_party(adapter_sps_dec *d, gw_consignment *c, xmlNodePtr n, const char *role) {
  gw_party *p = GW_MODEL_PUSH(c->parties, c->n_parties);
  if (!p) {
    d->rc = GW_ENOMEM;
    return;
  }
  if (gw_model_set(&p->role, role, -1)) d->rc = GW_ENOMEM;
  xmlNodePtr id = gw_ad_child(n, "ID");
  adapter_sps_take(d, &p->id, id);
  if (id && p->id) {
    xmlChar *s = xmlGetProp(id, BAD_CAST "schemeID");
    if (s && gw_model_set(&p->id_scheme, (const char *)s, -1)) d->rc = GW_ENOMEM;
    xmlFree(s);
  }
  if (!p->id) {
    /* The ePhyto hub schema has no party ID: it sends the registration number
     * as a TypeCode whose listName names the register. */
    for (xmlNodePtr tc = n->children; tc && !p->id; tc = tc->next) {
      if (!adapter_sps_is(tc, "TypeCode")) continue;
      xmlChar *ln = xmlGetProp(tc, BAD_CAST "listName");
      if (ln && strstr((const char *)ln, "Registration")) {
        adapter_sps_take(d, &p->id, tc);
        if (p->id && gw_model_set(&p->id_scheme, (const char *)ln, -1)) d->rc = GW_ENOMEM;
      }
      xmlFree(ln);
    }
  }
  adapter_sps_child(d, &p->name, n, "Name");
  adapter_sps_address(d, &p->address, gw_ad_child(n, "SpecifiedSPSAddress"));
  adapter_sps_child(d, &p->contact, gw_ad_child(n, "SpecifiedSPSPerson"), "Name");
  const char *const mapped[] = {"ID", "Name", "SpecifiedSPSAddress", "SpecifiedSPSPerson",
                                       p->id_scheme && !gw_ad_child(n, "ID") ? "TypeCode" : "ID", NULL};
  adapter_sps_report_rest(d, n, mapped);
}

static void adapter_sps_note(adapter_sps_dec *d, gw_note **arr, size_t *n, xmlNodePtr x) {
  gw_note *note = gw_model_push((void **)arr, n, sizeof **arr);
  if (!note) {
    d->rc = GW_ENOMEM;
    return;
  }
  /* ePhyto writes Subject, TRACES NT SubjectCode; the text or, failing it, the code. */
  adapter_sps_child(d, &note->subject, x, "Subject");
  adapter_sps_child(d, &note->subject, x, "SubjectCode");
  adapter_sps_child(d, &note->text, x, "Content");
  adapter_sps_child(d, &note->text, x, "ContentCode");
}

/* Base64 text (RFC 4648 alphabet, '=' padding) with XML whitespace between,
 * by byte: 1 counts as a character, 0 is whitespace, 2 does not belong. A
 * table: the attachments of one certificate run to hundreds of kilobytes. */
static const unsigned char adapter_sps_b64_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2, 0, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 2, 2,
    2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2,
    2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static void adapter_sps_docref(adapter_sps_dec *d, gw_consignment *c, xmlNodePtr x) {
  gw_docref *r = GW_MODEL_PUSH(c->documents, c->n_documents);
  if (!r) {
    d->rc = GW_ENOMEM;
    return;
  }
  adapter_sps_child(d, &r->type, x, "TypeCode");
  adapter_sps_child(d, &r->id, x, "ID");
  adapter_sps_child(d, &r->issued, x, "IssueDateTime");
  for (xmlNodePtr a = x->children; a; a = a->next) {
    if (!adapter_sps_is(a, "AttachmentBinaryObject")) continue;
    xmlChar *fn = xmlGetProp(a, BAD_CAST "filename");
    xmlChar *uri = xmlGetProp(a, BAD_CAST "uri");
    xmlChar *t = xmlNodeGetContent(a);
    size_t sz = 0;
    const xmlChar *bad = NULL;
    /* The alphabet is checked here, not by an XSD pattern: libxml2's regex
     * engine took 6 ms for the 180 KB of a certificate with six photographs. */
    for (const xmlChar *q = t; q && *q; q++) {
      unsigned char k = adapter_sps_b64_class[*q];
      sz += k == 1;
      if (k == 2 && !bad) bad = q;
    }
    char msg[400];
    if (bad) {
      snprintf(msg, sizeof msg, "attachment of document %s is not base64 text: character %zu is 0x%02x",
               r->id ? r->id : "(no ID)", (size_t)(bad - t) + 1, (unsigned)*bad);
      adapter_sps_problem(d, "attachment_not_base64", "error", a, NULL, msg);
    }
    snprintf(msg, sizeof msg,
             "attachment %s%s%s (%zu base64 characters%s%s) of document %s is not carried by the "
             "canonical model and is dropped",
             fn ? "\"" : "", fn ? (const char *)fn : "(unnamed)", fn ? "\"" : "", sz, uri ? ", uri " : "",
             uri ? (const char *)uri : "", r->id ? r->id : "(no ID)");
    adapter_sps_problem(d, "attachment_dropped", "warning", a, NULL, msg);
    xmlFree(fn);
    xmlFree(uri);
    xmlFree(t);
  }
  static const char *const mapped[] = {"TypeCode", "ID", "IssueDateTime", "AttachmentBinaryObject", NULL};
  adapter_sps_report_rest(d, x, mapped);
}

static void adapter_sps_location(adapter_sps_dec *d, gw_location *l, xmlNodePtr n) {
  if (!n) return;
  adapter_sps_child(d, &l->code, n, "ID");
  adapter_sps_child(d, &l->name, n, "Name");
}

static void adapter_sps_exchanged(adapter_sps_dec *d, gw_consignment *c, xmlNodePtr doc) {
  adapter_sps_take(d, &c->cert_id, adapter_sps_single(d, doc, "ID", 1));
  adapter_sps_take(d, &c->sps.cert_type, adapter_sps_single(d, doc, "TypeCode", 1));
  adapter_sps_take(d, &c->sps.status, adapter_sps_single(d, doc, "StatusCode", 0));
  adapter_sps_take(d, &c->issued_at, adapter_sps_single(d, doc, "IssueDateTime", 0));
  xmlNodePtr issuer = adapter_sps_single(d, doc, "IssuerSPSParty", 0);
  if (issuer) adapter_sps_party(d, c, issuer, GW_ROLE_AUTHORITY);
  int n_sig = 0;
  for (xmlNodePtr x = doc->children; x; x = x->next) {
    if (adapter_sps_is(x, "IncludedSPSNote")) {
      adapter_sps_note(d, &c->sps.declarations, &c->sps.n_declarations, x);
    } else if (adapter_sps_is(x, "ReferenceSPSReferencedDocument")) {
      adapter_sps_docref(d, c, x);
    } else if (adapter_sps_is(x, "SignatorySPSAuthentication")) {
      if (n_sig++) {
        adapter_sps_problem(d, "not_carried", "info", x, NULL,
                            "only the first SignatorySPSAuthentication is carried; this one is not passed on");
        continue;
      }
      adapter_sps_child(d, &c->sps.signed_at, x, "ActualDateTime");
      adapter_sps_child(d, &c->sps.issue_place, gw_ad_child(x, "IssueSPSLocation"), "Name");
      adapter_sps_child(d, &c->sps.signatory, gw_ad_child(gw_ad_child(x, "ProviderSPSParty"), "SpecifiedSPSPerson"),
                        "Name");
      static const char *const mapped[] = {"ActualDateTime", "IssueSPSLocation", "ProviderSPSParty", NULL};
      adapter_sps_report_rest(d, x, mapped);
    }
  }
  static const char *const mapped[] = {"ID", "TypeCode", "StatusCode", "IssueDateTime", "IssuerSPSParty",
                                       "IncludedSPSNote", "ReferenceSPSReferencedDocument",
                                       "SignatorySPSAuthentication", NULL};
  adapter_sps_report_rest(d, doc, mapped);
}

/* One AppliedSPSProcess into a treatment. */
static void adapter_sps_treatment(adapter_sps_dec *d, gw_item *it, xmlNodePtr x) {
  gw_treatment *t = GW_MODEL_PUSH(it->treatments, it->n_treatments);
  if (!t) {
    d->rc = GW_ENOMEM;
    return;
  }
  adapter_sps_child(d, &t->type, x, "TypeCode");
  xmlNodePtr period = gw_ad_child(x, "CompletionSPSPeriod");
  adapter_sps_child(d, &t->date, period, "StartDateTime");
  adapter_sps_measure_text(d, &t->duration, gw_ad_child(period, "DurationMeasure"));
  for (xmlNodePtr ch = x->children; ch; ch = ch->next) {
    if (!adapter_sps_is(ch, "ApplicableSPSProcessCharacteristic")) continue;
    char *code = NULL;
    xmlNodePtr first = gw_ad_child(ch, "Description");
    adapter_sps_take(d, &code, first);
    char **slot = NULL;
    const char *sep = "; ";
    if (code && !strcmp(code, "TTCH")) slot = &t->chemical;
    else if (code && !strcmp(code, "TTCO")) slot = &t->concentration;
    else if (code && !strcmp(code, "TTTM")) slot = &t->temperature;
    if (!slot) {
      char why[64];
      snprintf(why, sizeof why, "treatment characteristic %s", code ? code : "(no code)");
      char key[96];
      snprintf(key, sizeof key, "TT/%s", code ? code : "");
      int dup = 0;
      for (size_t i = 0; i < d->n_seen; i++) dup |= !strcmp(d->seen[i], key);
      if (!dup) {
        if (d->n_seen < SPS_MAX_SEEN) memcpy(d->seen[d->n_seen++], key, sizeof key);
        char msg[200];
        snprintf(msg, sizeof msg, "%s is not in the canonical model; it is not passed on", why);
        adapter_sps_problem(d, "not_carried", "info", ch, NULL, msg);
      }
      free(code);
      continue;
    }
    free(code);
    xmlNodePtr vm = gw_ad_child(ch, "ValueMeasure");
    if (vm) {
      char *v = NULL;
      adapter_sps_measure_text(d, &v, vm);
      if (v) {
        if (!*slot) *slot = v;
        else {
          size_t l = strlen(*slot) + strlen(sep) + strlen(v) + 1;
          char *j = malloc(l);
          if (!j) d->rc = GW_ENOMEM;
          else {
            snprintf(j, l, "%s%s%s", *slot, sep, v);
            free(*slot);
            *slot = j;
          }
          free(v);
        }
      }
    } else {
      for (xmlNodePtr ds = first ? first->next : NULL; ds; ds = ds->next)
        if (adapter_sps_is(ds, "Description")) adapter_sps_append(d, slot, ds, sep);
    }
  }
  static const char *const mapped[] = {"TypeCode", "CompletionSPSPeriod", "ApplicableSPSProcessCharacteristic",
                                       NULL};
  adapter_sps_report_rest(d, x, mapped);
}

static void adapter_sps_item(adapter_sps_dec *d, gw_consignment *c, xmlNodePtr x) {
  gw_item *it = GW_MODEL_PUSH(c->items, c->n_items);
  if (!it) {
    d->rc = GW_ENOMEM;
    return;
  }
  adapter_sps_take(d, &it->sequence, adapter_sps_single(d, x, "SequenceNumeric", 1));
  adapter_sps_child(d, &it->description, x, "Description");
  adapter_sps_child(d, &it->commodity, x, "CommonName");
  adapter_sps_child(d, &it->scientific_name, x, "ScientificName");
  adapter_sps_child(d, &it->intended_use, x, "IntendedUse");
  adapter_sps_measure(d, &it->net_weight, gw_ad_child(x, "NetWeightMeasure"));
  adapter_sps_measure(d, &it->gross_weight, gw_ad_child(x, "GrossWeightMeasure"));
  int n_pack = 0, n_origin = 0;
  for (xmlNodePtr e = x->children; e; e = e->next) {
    if (adapter_sps_is(e, "ApplicableSPSClassification")) {
      char *sys = NULL;
      adapter_sps_child(d, &sys, e, "SystemID");
      adapter_sps_child(d, &sys, e, "SystemName");
      int hs = sys && !strcmp(sys, "HS");
      free(sys);
      if (!hs) {
        adapter_sps_not_carried(d, e, "only the HS classification is carried");
        continue;
      }
      char *code = NULL;
      adapter_sps_child(d, &code, e, "ClassCode");
      if (code && it->hs_code && strcmp(code, it->hs_code))
        adapter_sps_problem(d, "not_carried", "warning", e, NULL,
                            "a second HS code on one line item is not carried; the first one is kept");
      if (!it->hs_code) it->hs_code = code;
      else free(code);
    } else if (adapter_sps_is(e, "PhysicalSPSPackage")) {
      if (n_pack++) {
        adapter_sps_not_carried(d, e, "only the first package level is carried");
        continue;
      }
      adapter_sps_child(d, &it->package_type, e, "TypeCode");
      adapter_sps_child(d, &it->package_count, e, "ItemQuantity");
    } else if (adapter_sps_is(e, "OriginSPSCountry")) {
      if (n_origin++) {
        adapter_sps_not_carried(d, e, "only the first origin country is carried");
        continue;
      }
      adapter_sps_child(d, &it->origin_country, e, "ID");
      adapter_sps_child(d, &it->production_place, gw_ad_child(e, "SubordinateSPSCountrySubDivision"), "Name");
    } else if (adapter_sps_is(e, "AppliedSPSProcess")) {
      adapter_sps_treatment(d, it, e);
    }
  }
  static const char *const mapped[] = {"SequenceNumeric", "Description", "CommonName", "ScientificName",
                                       "IntendedUse", "NetWeightMeasure", "GrossWeightMeasure",
                                       "ApplicableSPSClassification", "PhysicalSPSPackage", "OriginSPSCountry",
                                       "AppliedSPSProcess", NULL};
  adapter_sps_report_rest(d, x, mapped);
}

static void adapter_sps_consignment(adapter_sps_dec *d, gw_consignment *c, xmlNodePtr cons) {
  int n_move = 0;
  for (xmlNodePtr x = cons->children; x; x = x->next) {
    if (x->type != XML_ELEMENT_NODE) continue;
    if (adapter_sps_is(x, "ConsignorSPSParty")) adapter_sps_party(d, c, x, GW_ROLE_CONSIGNOR);
    else if (adapter_sps_is(x, "ConsigneeSPSParty")) adapter_sps_party(d, c, x, GW_ROLE_CONSIGNEE);
    else if (adapter_sps_is(x, "ExportSPSCountry")) adapter_sps_child(d, &c->export_country, x, "ID");
    else if (adapter_sps_is(x, "ImportSPSCountry")) adapter_sps_child(d, &c->import_country, x, "ID");
    else if (adapter_sps_is(x, "LoadingBaseportSPSLocation")) adapter_sps_location(d, &c->loading, x);
    else if (adapter_sps_is(x, "UnloadingBaseportSPSLocation")) adapter_sps_location(d, &c->unloading, x);
    else if (adapter_sps_is(x, "ExaminationSPSEvent"))
      adapter_sps_child(d, &c->sps.inspection, gw_ad_child(x, "OccurrenceSPSLocation"), "Name");
    else if (adapter_sps_is(x, "MainCarriageSPSTransportMovement")) {
      if (n_move++) {
        adapter_sps_not_carried(d, x, "only the first transport movement is carried");
        continue;
      }
      adapter_sps_child(d, &c->border_transport.mode, x, "ModeCode");
      adapter_sps_child(d, &c->border_transport.means_id, x, "ID");
      if (gw_ad_child(x, "UsedSPSTransportMeans")) adapter_sps_not_carried(d, gw_ad_child(x, "UsedSPSTransportMeans"), NULL);
    } else if (adapter_sps_is(x, "UtilizedSPSTransportEquipment")) {
      gw_equipment *e = GW_MODEL_PUSH(c->equipment, c->n_equipment);
      if (!e) {
        d->rc = GW_ENOMEM;
        return;
      }
      adapter_sps_child(d, &e->id, x, "ID");
      adapter_sps_child(d, &e->seal, gw_ad_child(x, "AffixedSPSSeal"), "ID");
    } else if (adapter_sps_is(x, "IncludedSPSConsignmentItem")) {
      for (xmlNodePtr li = x->children; li; li = li->next) {
        if (adapter_sps_is(li, "IncludedSPSTradeLineItem")) adapter_sps_item(d, c, li);
        else if (li->type == XML_ELEMENT_NODE) adapter_sps_not_carried(d, li, NULL);
      }
    } else {
      adapter_sps_not_carried(d, x, NULL);
    }
  }
}

/* "[code] text" -> subject, text (the inverse of encode). */
static void adapter_sps_reason(adapter_sps_dec *d, gw_response *r, xmlNodePtr x) {
  char *t = NULL;
  adapter_sps_take(d, &t, x);
  if (!t) return;
  /* A receipt's digest (lmcgw convention: the acknowledgement has no digest element). */
  if (!strncmp(t, "sha256:", 7) && !r->digest) {
    r->digest = t;
    return;
  }
  gw_note *n = GW_MODEL_PUSH(r->errors, r->n_errors);
  if (!n) {
    d->rc = GW_ENOMEM;
    free(t);
    return;
  }
  const char *close = t[0] == '[' ? strchr(t, ']') : NULL;
  if (close && close > t + 1) {
    if (gw_model_set(&n->subject, t + 1, close - t - 1) || gw_model_set(&n->text, close + 1, -1)) d->rc = GW_ENOMEM;
    free(t);
  } else {
    n->text = t;
  }
}

static int adapter_sps_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out,
                              gw_problems *p) {
  (void)a;
  adapter_sps_dec d = {.p = p};
  xmlNodePtr root = in && in->doc ? xmlDocGetRootElement(in->doc) : NULL;
  if (!root) {
    gw_problems_add(p, "no_document", "error", 0, "", "the SPS adapter needs a parsed XML document");
    return GW_EINVAL;
  }
  const char *ns = root->ns ? (const char *)root->ns->href : "";
  int cert = adapter_sps_is(root, "SPSCertificate") && !strcmp(ns, SPS_NS_CERT);
  int ack = adapter_sps_is(root, "SPSAcknowledgement") && !strcmp(ns, SPS_NS_ACK);
  if (!cert && !ack) {
    gw_problems_add(p, "unsupported_root", "error", xmlGetLineNo(root), "/",
                    "root element %s in namespace \"%s\" is neither SPSCertificate:17 nor SPSAcknowledgement:17",
                    (const char *)root->name, ns);
    return GW_EUNSUPPORTED;
  }
  if (gw_model_set(&out->kind, cert ? GW_KIND_SPS : GW_KIND_SPS_ACK, -1)) return GW_ENOMEM;
  if (cert) {
    xmlNodePtr doc = gw_ad_child(root, "SPSExchangedDocument"), cons = gw_ad_child(root, "SPSConsignment");
    if (!doc || !cons) {
      adapter_sps_problem(&d, "missing_element", "error", root, doc ? "SPSConsignment" : "SPSExchangedDocument",
                          "a certificate needs SPSExchangedDocument and SPSConsignment");
    } else {
      adapter_sps_exchanged(&d, out, doc);
      adapter_sps_consignment(&d, out, cons);
    }
  } else {
    xmlNodePtr doc = gw_ad_child(root, "SPSAcknowledgementDocument");
    if (!doc) {
      adapter_sps_problem(&d, "missing_element", "error", root, "SPSAcknowledgementDocument",
                          "an acknowledgement needs SPSAcknowledgementDocument");
    } else {
      adapter_sps_take(&d, &out->response.status, adapter_sps_single(&d, doc, "StatusCode", 1));
      adapter_sps_take(&d, &out->response.issued_at, adapter_sps_single(&d, doc, "IssueDateTime", 0));
      int n_ref = 0;
      for (xmlNodePtr x = doc->children; x; x = x->next) {
        if (adapter_sps_is(x, "ReasonInformation")) adapter_sps_reason(&d, &out->response, x);
        else if (adapter_sps_is(x, "ReferenceSPSReferencedDocument")) {
          if (n_ref++) adapter_sps_not_carried(&d, x, "only the first referenced certificate is carried");
          else adapter_sps_child(&d, &out->response.ref_id, x, "ID");
        }
      }
      static const char *const mapped[] = {"StatusCode", "IssueDateTime", "ReasonInformation",
                                           "ReferenceSPSReferencedDocument", NULL};
      adapter_sps_report_rest(&d, doc, mapped);
    }
  }
  if (d.rc) {
    gw_problems_add(p, "out_of_memory", "error", 0, "", "out of memory while decoding the SPS document");
    return d.rc;
  }
  return d.errors ? GW_ESCHEMA : 0;
}

/* ---- encode ---------------------------------------------------------------- */

typedef struct adapter_sps_enc {
  gw_problems *p;
  xmlNsPtr ram, udt;
  int oom;
} adapter_sps_enc;

static xmlNodePtr adapter_sps_el(adapter_sps_enc *e, xmlNodePtr parent, xmlNsPtr ns, const char *name) {
  xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST name, NULL);
  if (!n) e->oom = 1;
  return n;
}

static xmlNodePtr adapter_sps_add(adapter_sps_enc *e, xmlNodePtr parent, const char *name, const char *text) {
  if (!text || !parent) return NULL;
  xmlNodePtr n = gw_ad_add(parent, e->ram, name, text);
  if (!n) e->oom = 1;
  return n;
}

static void adapter_sps_add_date(adapter_sps_enc *e, xmlNodePtr parent, const char *name, const char *text) {
  if (!text || !parent) return;
  xmlNodePtr n = adapter_sps_el(e, parent, e->ram, name);
  if (n && !gw_ad_add(n, e->udt, "DateTimeString", text)) e->oom = 1;
}

static void adapter_sps_add_measure(adapter_sps_enc *e, xmlNodePtr parent, const char *name, const char *value,
                                    const char *unit) {
  xmlNodePtr n = adapter_sps_add(e, parent, name, value);
  if (n && unit && !xmlNewProp(n, BAD_CAST "unitCode", BAD_CAST unit)) e->oom = 1;
}

static int adapter_sps_decimal(const char *s, size_t n) {
  size_t i = 0, digits = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (i < n && s[i] == '.')
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  return digits > 0 && i == n;
}

/* Splits "2.5 KX" (or "2.5") into value and UN/ECE Rec. 20 unit; 0 when the
 * text is not a measure. value must hold 64 bytes; *unit points into text. */
static int adapter_sps_split_measure(const char *text, char value[64], const char **unit) {
  const char *sp = strchr(text, ' ');
  size_t vl = sp ? (size_t)(sp - text) : strlen(text);
  if (vl >= 64 || !adapter_sps_decimal(text, vl)) return 0;
  *unit = NULL;
  if (sp) {
    const char *u = sp + 1;
    size_t ul = strlen(u);
    if (ul < 1 || ul > 3) return 0;
    for (size_t i = 0; i < ul; i++)
      if (!((u[i] >= 'A' && u[i] <= 'Z') || (u[i] >= '0' && u[i] <= '9'))) return 0;
    *unit = u;
  }
  memcpy(value, text, vl);
  value[vl] = '\0';
  return 1;
}

/* Writes text as a measure element when it is one; returns 0 otherwise. */
static int adapter_sps_text_measure(adapter_sps_enc *e, xmlNodePtr parent, const char *name, const char *text) {
  char value[64];
  const char *unit;
  if (!adapter_sps_split_measure(text, value, &unit)) return 0;
  adapter_sps_add_measure(e, parent, name, value, unit);
  return 1;
}

static void adapter_sps_enc_party(adapter_sps_enc *e, xmlNodePtr parent, const char *name, const gw_party *p) {
  xmlNodePtr n = adapter_sps_el(e, parent, e->ram, name);
  if (!n) return;
  xmlNodePtr id = adapter_sps_add(e, n, "ID", p->id);
  if (id && p->id_scheme && !xmlNewProp(id, BAD_CAST "schemeID", BAD_CAST p->id_scheme)) e->oom = 1;
  adapter_sps_add(e, n, "Name", p->name);
  const gw_address *a = &p->address;
  if (a->line || a->city || a->postcode || a->subdivision || a->country) {
    xmlNodePtr ad = adapter_sps_el(e, n, e->ram, "SpecifiedSPSAddress");
    adapter_sps_add(e, ad, "PostcodeCode", a->postcode);
    adapter_sps_add(e, ad, "LineOne", a->line);
    adapter_sps_add(e, ad, "CityName", a->city);
    adapter_sps_add(e, ad, "CountryID", a->country);
    adapter_sps_add(e, ad, "CountrySubDivisionName", a->subdivision);
  }
  if (p->contact) adapter_sps_add(e, adapter_sps_el(e, n, e->ram, "SpecifiedSPSPerson"), "Name", p->contact);
}

static void adapter_sps_enc_char(adapter_sps_enc *e, xmlNodePtr proc, const char *code, const char *value) {
  if (!value) return;
  xmlNodePtr ch = adapter_sps_el(e, proc, e->ram, "ApplicableSPSProcessCharacteristic");
  adapter_sps_add(e, ch, "Description", code);
  /* A measure stays a measure (chemicals are names, never measures); anything
   * else travels as the second Description. */
  if (strcmp(code, "TTCH") && adapter_sps_text_measure(e, ch, "ValueMeasure", value)) return;
  adapter_sps_add(e, ch, "Description", value);
}

static void adapter_sps_enc_item(adapter_sps_enc *e, xmlNodePtr parent, const gw_item *it, size_t i) {
  xmlNodePtr li = adapter_sps_el(e, parent, e->ram, "IncludedSPSTradeLineItem");
  if (!li) return;
  char seq[32];
  snprintf(seq, sizeof seq, "%zu", i + 1);
  if (!it->sequence)
    gw_problems_add(e->p, "missing_field", "warning", 0, "", "items[%zu].sequence is not set; %s is written", i, seq);
  adapter_sps_add(e, li, "SequenceNumeric", it->sequence ? it->sequence : seq);
  adapter_sps_add(e, li, "Description", it->description);
  adapter_sps_add(e, li, "CommonName", it->commodity);
  adapter_sps_add(e, li, "ScientificName", it->scientific_name);
  adapter_sps_add(e, li, "IntendedUse", it->intended_use);
  adapter_sps_add_measure(e, li, "NetWeightMeasure", it->net_weight.value, it->net_weight.unit);
  adapter_sps_add_measure(e, li, "GrossWeightMeasure", it->gross_weight.value, it->gross_weight.unit);
  if (it->hs_code) {
    xmlNodePtr cl = adapter_sps_el(e, li, e->ram, "ApplicableSPSClassification");
    adapter_sps_add(e, cl, "SystemName", "HS");
    adapter_sps_add(e, cl, "ClassCode", it->hs_code);
  }
  if (it->package_type || it->package_count) {
    xmlNodePtr pk = adapter_sps_el(e, li, e->ram, "PhysicalSPSPackage");
    /* UN/EDIFACT 7075: 4 = no packaging hierarchy (the model keeps one level). */
    adapter_sps_add(e, pk, "LevelCode", "4");
    adapter_sps_add(e, pk, "TypeCode", it->package_type);
    adapter_sps_add(e, pk, "ItemQuantity", it->package_count);
  }
  if (it->origin_country || it->production_place) {
    xmlNodePtr oc = adapter_sps_el(e, li, e->ram, "OriginSPSCountry");
    adapter_sps_add(e, oc, "ID", it->origin_country);
    if (it->production_place)
      adapter_sps_add(e, adapter_sps_el(e, oc, e->ram, "SubordinateSPSCountrySubDivision"), "Name",
                      it->production_place);
  }
  for (size_t k = 0; k < it->n_treatments; k++) {
    const gw_treatment *t = &it->treatments[k];
    xmlNodePtr pr = adapter_sps_el(e, li, e->ram, "AppliedSPSProcess");
    adapter_sps_add(e, pr, "TypeCode", t->type);
    if (t->date || t->duration) {
      xmlNodePtr per = adapter_sps_el(e, pr, e->ram, "CompletionSPSPeriod");
      adapter_sps_add_date(e, per, "StartDateTime", t->date);
      if (t->duration && per && !adapter_sps_text_measure(e, per, "DurationMeasure", t->duration))
        gw_problems_add(e->p, "lossy_field", "warning", 0, "",
                        "items[%zu].treatments[%zu].duration \"%s\" is not \"<number> <unit>\" and cannot be "
                        "written as a DurationMeasure; it is dropped",
                        i, k, t->duration);
    }
    adapter_sps_enc_char(e, pr, "TTCH", t->chemical);
    adapter_sps_enc_char(e, pr, "TTCO", t->concentration);
    adapter_sps_enc_char(e, pr, "TTTM", t->temperature);
  }
}

static void adapter_sps_enc_cert(adapter_sps_enc *e, const gw_consignment *c, xmlNodePtr root, xmlNsPtr rsm) {
  const gw_party *issuer = NULL, *consignor = NULL, *consignee = NULL;
  for (size_t i = 0; i < c->n_parties; i++) {
    const gw_party *p = &c->parties[i];
    const gw_party **slot = NULL;
    if (p->role && !strcmp(p->role, GW_ROLE_AUTHORITY)) slot = &issuer;
    else if (p->role && !strcmp(p->role, GW_ROLE_CONSIGNOR)) slot = &consignor;
    else if (p->role && !strcmp(p->role, GW_ROLE_CONSIGNEE)) slot = &consignee;
    if (slot && !*slot) *slot = p;
    else
      gw_problems_add(e->p, "lossy_field", "warning", 0, "",
                      "parties[%zu] (role %s) has no place in an SPS certificate (one authority, one consignor, "
                      "one consignee); it is dropped",
                      i, p->role ? p->role : "(none)");
  }

  xmlNodePtr doc = adapter_sps_el(e, root, rsm, "SPSExchangedDocument");
  adapter_sps_add(e, doc, "ID", c->cert_id);
  adapter_sps_add(e, doc, "TypeCode", c->sps.cert_type);
  adapter_sps_add(e, doc, "StatusCode", c->sps.status);
  adapter_sps_add_date(e, doc, "IssueDateTime", c->issued_at ? c->issued_at : c->sps.issued_at);
  if (issuer) adapter_sps_enc_party(e, doc, "IssuerSPSParty", issuer);
  for (size_t i = 0; i < c->sps.n_declarations; i++) {
    const gw_note *n = &c->sps.declarations[i];
    xmlNodePtr x = adapter_sps_el(e, doc, e->ram, "IncludedSPSNote");
    adapter_sps_add(e, x, "Subject", n->subject);
    adapter_sps_add(e, x, "Content", n->text);
  }
  for (size_t i = 0; i < c->n_documents; i++) {
    const gw_docref *r = &c->documents[i];
    xmlNodePtr x = adapter_sps_el(e, doc, e->ram, "ReferenceSPSReferencedDocument");
    adapter_sps_add(e, x, "IssueDateTime", r->issued);
    adapter_sps_add(e, x, "TypeCode", r->type);
    adapter_sps_add(e, x, "ID", r->id);
  }
  if (c->sps.signatory || c->sps.signed_at || c->sps.issue_place) {
    xmlNodePtr s = adapter_sps_el(e, doc, e->ram, "SignatorySPSAuthentication");
    adapter_sps_add_date(e, s, "ActualDateTime", c->sps.signed_at);
    if (c->sps.issue_place)
      adapter_sps_add(e, adapter_sps_el(e, s, e->ram, "IssueSPSLocation"), "Name", c->sps.issue_place);
    if (c->sps.signatory) {
      xmlNodePtr pp = adapter_sps_el(e, s, e->ram, "ProviderSPSParty");
      adapter_sps_add(e, adapter_sps_el(e, pp, e->ram, "SpecifiedSPSPerson"), "Name", c->sps.signatory);
    }
  }

  xmlNodePtr cons = adapter_sps_el(e, root, rsm, "SPSConsignment");
  if (!cons) return;
  if (consignor) adapter_sps_enc_party(e, cons, "ConsignorSPSParty", consignor);
  if (consignee) adapter_sps_enc_party(e, cons, "ConsigneeSPSParty", consignee);
  if (c->export_country) adapter_sps_add(e, adapter_sps_el(e, cons, e->ram, "ExportSPSCountry"), "ID", c->export_country);
  if (c->import_country) adapter_sps_add(e, adapter_sps_el(e, cons, e->ram, "ImportSPSCountry"), "ID", c->import_country);
  const gw_location *locs[2] = {&c->loading, &c->unloading};
  const char *locnames[2] = {"LoadingBaseportSPSLocation", "UnloadingBaseportSPSLocation"};
  for (int k = 0; k < 2; k++)
    if (locs[k]->code || locs[k]->name) {
      xmlNodePtr l = adapter_sps_el(e, cons, e->ram, locnames[k]);
      adapter_sps_add(e, l, "ID", locs[k]->code);
      adapter_sps_add(e, l, "Name", locs[k]->name);
    }
  if (c->sps.inspection) {
    xmlNodePtr ev = adapter_sps_el(e, cons, e->ram, "ExaminationSPSEvent");
    adapter_sps_add(e, adapter_sps_el(e, ev, e->ram, "OccurrenceSPSLocation"), "Name", c->sps.inspection);
  }
  if (c->border_transport.mode || c->border_transport.means_id) {
    xmlNodePtr m = adapter_sps_el(e, cons, e->ram, "MainCarriageSPSTransportMovement");
    adapter_sps_add(e, m, "ID", c->border_transport.means_id);
    adapter_sps_add(e, m, "ModeCode", c->border_transport.mode);
  }
  for (size_t i = 0; i < c->n_equipment; i++) {
    xmlNodePtr q = adapter_sps_el(e, cons, e->ram, "UtilizedSPSTransportEquipment");
    adapter_sps_add(e, q, "ID", c->equipment[i].id);
    if (c->equipment[i].seal)
      adapter_sps_add(e, adapter_sps_el(e, q, e->ram, "AffixedSPSSeal"), "ID", c->equipment[i].seal);
  }
  if (c->n_items) {
    xmlNodePtr ci = adapter_sps_el(e, cons, e->ram, "IncludedSPSConsignmentItem");
    for (size_t i = 0; i < c->n_items && ci; i++) adapter_sps_enc_item(e, ci, &c->items[i], i);
  }
}

static void adapter_sps_enc_ack(adapter_sps_enc *e, const gw_consignment *c, xmlNodePtr root, xmlNsPtr rsm) {
  const gw_response *r = &c->response;
  xmlNodePtr doc = adapter_sps_el(e, root, rsm, "SPSAcknowledgementDocument");
  adapter_sps_add_date(e, doc, "IssueDateTime", r->issued_at);
  adapter_sps_add(e, doc, "StatusCode", r->status);
  for (size_t i = 0; i < r->n_errors; i++) {
    const gw_note *n = &r->errors[i];
    if (!n->subject && !n->text) continue;
    size_t l = (n->subject ? strlen(n->subject) + 3 : 0) + (n->text ? strlen(n->text) : 0) + 1;
    char *t = malloc(l);
    if (!t) {
      e->oom = 1;
      return;
    }
    if (n->subject) snprintf(t, l, "[%s]%s%s", n->subject, n->text ? " " : "", n->text ? n->text : "");
    else snprintf(t, l, "%s", n->text);
    adapter_sps_add(e, doc, "ReasonInformation", t);
    free(t);
  }
  if (r->digest) adapter_sps_add(e, doc, "ReasonInformation", r->digest);
  if (r->ref_id) adapter_sps_add(e, adapter_sps_el(e, doc, e->ram, "ReferenceSPSReferencedDocument"), "ID", r->ref_id);
}

static int adapter_sps_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out,
                              gw_problems *p) {
  (void)a;
  int cert = c->kind && !strcmp(c->kind, GW_KIND_SPS);
  int ack = c->kind && !strcmp(c->kind, GW_KIND_SPS_ACK);
  if (!cert && !ack) {
    gw_problems_add(p, "unsupported_kind", "error", 0, "kind",
                    "the SPS adapter writes sps_certificate and sps_acknowledgement, not \"%s\"",
                    c->kind ? c->kind : "(none)");
    return GW_EUNSUPPORTED;
  }
  int missing = 0;
  if (cert && !c->cert_id) {
    gw_problems_add(p, "missing_field", "error", 0, "cert_id", "an SPS certificate needs cert_id (its number)");
    missing++;
  }
  if (cert && !c->sps.cert_type) {
    gw_problems_add(p, "missing_field", "error", 0, "sps.cert_type",
                    "an SPS certificate needs sps.cert_type (UN/EDIFACT 1001, 851 phytosanitary ...)");
    missing++;
  }
  if (ack && !c->response.status) {
    gw_problems_add(p, "missing_field", "error", 0, "response.status", "an SPS acknowledgement needs response.status");
    missing++;
  }
  if (missing) return GW_EINVAL;
  /* Both kinds share one carries list, so say here what the other kind's
   * fields lose. */
  if (cert && (c->response.status || c->response.ref_id || c->response.n_errors))
    gw_problems_add(p, "lossy_field", "warning", 0, "response",
                    "an SPS certificate has no place for response facts; they are dropped");
  if (ack && (c->cert_id || c->n_parties || c->n_items || c->sps.cert_type))
    gw_problems_add(p, "lossy_field", "warning", 0, "",
                    "an SPS acknowledgement carries only response.*; the certificate facts are dropped");

  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST(cert ? "SPSCertificate" : "SPSAcknowledgement")) : NULL;
  adapter_sps_enc e = {.p = p};
  xmlNsPtr rsm = NULL;
  if (root) {
    xmlDocSetRootElement(doc, root);
    rsm = xmlNewNs(root, BAD_CAST(cert ? SPS_NS_CERT : SPS_NS_ACK), BAD_CAST "rsm");
    e.ram = xmlNewNs(root, BAD_CAST SPS_NS_RAM, BAD_CAST "ram");
    e.udt = xmlNewNs(root, BAD_CAST SPS_NS_UDT, BAD_CAST "udt");
    xmlSetNs(root, rsm);
  }
  if (!root || !rsm || !e.ram || !e.udt) e.oom = 1;
  else if (cert) adapter_sps_enc_cert(&e, c, root, rsm);
  else adapter_sps_enc_ack(&e, c, root, rsm);
  if (e.oom) {
    xmlFreeDoc(doc);
    gw_problems_add(p, "out_of_memory", "error", 0, "", "out of memory while writing the SPS document");
    return GW_ENOMEM;
  }
  out->doc = doc;
  return 0;
}

/* ---- the adapter ----------------------------------------------------------- */

static const gw_adapter_root adapter_sps_roots[] = {
    {"SPSCertificate", SPS_NS_CERT, GW_KIND_SPS, "sps/lmcgw-sps-certificate-17.xsd"},
    {"SPSAcknowledgement", SPS_NS_ACK, GW_KIND_SPS_ACK, "sps/lmcgw-sps-acknowledgement-17.xsd"},
    {NULL, NULL, NULL, NULL}};

/* Per kind: a certificate has no response part; an acknowledgement is only one. */
static const char *const adapter_sps_carries[] = {
    "parties.role=authority", "parties.role=consignor", "parties.role=consignee",
    "kind", "sps_certificate:cert_id", "sps_certificate:issued_at", "sps_certificate:export_country", "sps_certificate:import_country",
    "sps_certificate:loading.code", "sps_certificate:loading.name", "sps_certificate:unloading.code", "sps_certificate:unloading.name",
    "sps_certificate:border_transport.mode", "sps_certificate:border_transport.means_id",
    "sps_certificate:parties.role", "sps_certificate:parties.id", "sps_certificate:parties.id_scheme", "sps_certificate:parties.name",
    "sps_certificate:parties.address.line", "sps_certificate:parties.address.city", "sps_certificate:parties.address.postcode",
    "sps_certificate:parties.address.subdivision", "sps_certificate:parties.address.country", "sps_certificate:parties.contact",
    "sps_certificate:items.sequence", "sps_certificate:items.hs_code", "sps_certificate:items.description",
    "sps_certificate:items.gross_weight.value", "sps_certificate:items.gross_weight.unit", "sps_certificate:items.net_weight.value", "sps_certificate:items.net_weight.unit",
    "sps_certificate:items.origin_country", "sps_certificate:items.package_type", "sps_certificate:items.package_count",
    "sps_certificate:items.commodity", "sps_certificate:items.scientific_name", "sps_certificate:items.intended_use", "sps_certificate:items.production_place",
    "sps_certificate:items.treatments.type", "sps_certificate:items.treatments.chemical", "sps_certificate:items.treatments.concentration",
    "sps_certificate:items.treatments.duration", "sps_certificate:items.treatments.temperature", "sps_certificate:items.treatments.date",
    "sps_certificate:documents.type", "sps_certificate:documents.id", "sps_certificate:documents.issued",
    "sps_certificate:equipment.id", "sps_certificate:equipment.seal",
    "sps_certificate:sps.cert_type", "sps_certificate:sps.status", "sps_certificate:sps.issue_place", "sps_certificate:sps.signatory", "sps_certificate:sps.signed_at", "sps_certificate:sps.inspection",
    "sps_certificate:sps.declarations.subject", "sps_certificate:sps.declarations.text",
    "sps_acknowledgement:response.status", "sps_acknowledgement:response.issued_at", "sps_acknowledgement:response.ref_id", "sps_acknowledgement:response.digest", "sps_acknowledgement:response.errors.subject", "sps_acknowledgement:response.errors.text",
    NULL};

const gw_adapter gw_adapter_sps = {
    .abi = GW_ADAPTER_ABI,
    .name = "sps",
    .description = "UN/CEFACT SPS Certificate 17 (ePhyto, TRACES NT) and SPS Acknowledgement 17",
    .media_type = "application/xml",
    .kinds = GW_KIND_SPS "," GW_KIND_SPS_ACK,
    .roots = adapter_sps_roots,
    .carries = adapter_sps_carries,
    .decode = adapter_sps_decode,
    .encode = adapter_sps_encode,
};
