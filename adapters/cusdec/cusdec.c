/* lmcgw — UN/EDIFACT CUSDEC (customs declaration) and CUSRES (customs
 * response), directories D.96B and D.99B, to and from the canonical model.
 *
 * Decode: syntax and envelope (edifact.c), then the message structure against
 * the UNTDID tables (structures.c), then the mapping below. The first
 * CUSDEC/CUSRES message of the interchange is decoded; other messages are
 * reported as warnings.
 *
 * Mapping (qualifiers from UNTDID code lists 1001, 1153, 3035, 3227, 5025,
 * 6311/6313, 7365, 8051, 4451):
 *   BGM 1001 -> type_code, 1004 -> lrn, 1225 -> function_code
 *   DTM+137 (formats 102, 203, 204) -> issued_at (response.issued_at in CUSRES)
 *   LOC+9 loading, +11 unloading, +41 entry_point (code, name);
 *       +22 declaration_office, +42 exit_office; +35 export_country,
 *       +36 destination_country; item LOC+27 -> origin_country
 *   MEA+AAE+G gross weight (message: total_gross_weight; item: gross_weight),
 *       MEA+AAE+AAL net weight (item)
 *   EQD+CN -> equipment (id, size and type)
 *   FTX (message level) -> remarks (C107 text code = subject, C108 = text)
 *   SG1 RFF+ABE -> ucr, RFF+ABT (or AAE) -> mrn
 *   SG4 TDT 8051 11 -> border_transport, 12 -> departure_transport:
 *       8028 journey_id, C220 mode, C228 means_type, C222 means_id and nationality
 *   SG5 DOC (+DTM+182) -> documents; SG6 NAD EX/IM/CZ/CN/DT/CA -> parties
 *   SG7 TOD C100 -> incoterm; SG8 MOA+39 (C516 currency) -> invoice
 *   SG30 CST 1496 -> sequence, C246 with list HS/TSP/169 -> hs_code;
 *       FTX+AAA description, SG31 PAC count + type, PCI marks, SG33 MOA+40
 *       value with SG34 CUX currency, SG35 RFF+HS (Australian style) hs_code,
 *       SG37 DOC (+DTM+182) -> item documents
 *   CNT+5 -> declared_items, CNT+11 -> total_packages
 *   CUSRES: BGM as above, SG3 RFF+ACW -> response.ref_id (+ABT mrn, +ABE ucr),
 *       GIS 7365 -> response.status and the derived response.decision
 *       (1 ACCEPTED, 2/3 REFUSED, 4 RELEASED, 5 INSPECTION_REQUIRED),
 *       SG4 ERP/ERC 9321/FTX+AAO -> response.errors (subject, text).
 * Encode writes D.99B by default (the newer of the two and the directory of
 * the public samples); gw_cusdec_encode_dir() writes D.96B on request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "cusdec.h"
#include "edifact.h"
#include "structures.h"

#define CD_PATH 160

typedef struct cd_ctx {
  const gw_edi_interchange *ix;
  gw_problems *p;
  size_t seg;  /* current segment */
  int rc;
} cd_ctx;

static const char *cd_get(cd_ctx *d, size_t el, size_t comp) { return gw_edi_get(d->ix, d->seg, el, comp); }

static void cd_set(cd_ctx *d, char **slot, const char *v) {
  if (!v || d->rc) return;
  if (gw_model_set(slot, v, -1)) d->rc = GW_ENOMEM;
}

static int cd_is(const char *a, const char *b) { return a && !strcmp(a, b); }

/* EDIFACT 2379 date formats 102 CCYYMMDD, 203 CCYYMMDDHHMM, 204
 * CCYYMMDDHHMMSS to ISO 8601. Returns 0 or -1 when the text does not fit. */
static int cd_date_to_iso(const char *v, const char *fmt, char *out, size_t cap) {
  size_t n = v ? strlen(v) : 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] < '0' || v[i] > '9') return -1;
  if ((!fmt || cd_is(fmt, "102")) && n == 8)
    snprintf(out, cap, "%.4s-%.2s-%.2s", v, v + 4, v + 6);
  else if (cd_is(fmt, "203") && n == 12)
    snprintf(out, cap, "%.4s-%.2s-%.2sT%.2s:%.2s:00", v, v + 4, v + 6, v + 8, v + 10);
  else if (cd_is(fmt, "204") && n == 14)
    snprintf(out, cap, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", v, v + 4, v + 6, v + 8, v + 10, v + 12);
  else
    return -1;
  return 0;
}

/* ISO 8601 back to (value, format). Seconds "00" use 203 so a 203 date
 * decodes and encodes to the same text. Returns -1 when not ISO. */
static int cd_iso_to_date(const char *iso, char *out, size_t cap, const char **fmt) {
  size_t n = strlen(iso);
  char digits[16];
  size_t k = 0;
  for (size_t i = 0; i < n && i < 19; i++)
    if (iso[i] >= '0' && iso[i] <= '9' && k < sizeof digits - 1) digits[k++] = iso[i];
  digits[k] = 0;
  /* Only the shapes 102/203/204 give back unchanged; a zone or fraction
   * would be lost, so such a date is refused (and reported) instead. */
  if (n == 10 && k == 8 && iso[4] == '-' && iso[7] == '-') *fmt = "102";
  else if (n == 19 && k == 14 && iso[10] == 'T' && !strcmp(digits + 12, "00")) { digits[12] = 0; *fmt = "203"; }
  else if (n == 19 && k == 14 && iso[10] == 'T') *fmt = "204";
  else return -1;
  snprintf(out, cap, "%s", digits);
  return 0;
}

static void cd_date(cd_ctx *d, char **slot) {
  const char *v = cd_get(d, 0, 1), *fmt = cd_get(d, 0, 2);
  if (!v) return;
  char iso[32];
  if (cd_date_to_iso(v, fmt, iso, sizeof iso)) {
    char path[CD_PATH];
    gw_edi_path(d->ix, d->seg, 1, path, sizeof path);
    gw_problems_add(d->p, "bad_date", "error", d->ix->segs[d->seg].line, path,
                    "date \"%s\" does not match format %s (102 CCYYMMDD, 203 CCYYMMDDHHMM, 204 CCYYMMDDHHMMSS)", v,
                    fmt ? fmt : "102");
    if (!d->rc) d->rc = GW_ESCHEMA;
    return;
  }
  cd_set(d, slot, iso);
}

static const struct { const char *code, *role; } cd_roles[] = {
    {"EX", GW_ROLE_EXPORTER}, {"IM", GW_ROLE_IMPORTER}, {"CZ", GW_ROLE_CONSIGNOR},
    {"CN", GW_ROLE_CONSIGNEE}, {"DT", GW_ROLE_DECLARANT}, {"CA", GW_ROLE_CARRIER}, {NULL, NULL}};

static void cd_nad(cd_ctx *d, gw_consignment *c) {
  const char *q = cd_get(d, 0, 0), *role = NULL;
  for (size_t i = 0; cd_roles[i].code; i++)
    if (cd_is(q, cd_roles[i].code)) role = cd_roles[i].role;
  if (!role) {
    char path[CD_PATH];
    gw_edi_path(d->ix, d->seg, 1, path, sizeof path);
    gw_problems_add(d->p, "unmapped_party", "warning", d->ix->segs[d->seg].line, path,
                    "party qualifier %s is not mapped; party ignored", q ? q : "(none)");
    return;
  }
  gw_party *pa = GW_MODEL_PUSH(c->parties, c->n_parties);
  if (!pa) { d->rc = GW_ENOMEM; return; }
  cd_set(d, &pa->role, role);
  cd_set(d, &pa->id, cd_get(d, 1, 0));
  cd_set(d, &pa->id_scheme, cd_get(d, 1, 1));
  cd_set(d, &pa->name, cd_get(d, 3, 0));
  cd_set(d, &pa->address.line, cd_get(d, 4, 0));
  cd_set(d, &pa->address.city, cd_get(d, 5, 0));
  cd_set(d, &pa->address.subdivision, cd_get(d, 6, 0));
  cd_set(d, &pa->address.postcode, cd_get(d, 7, 0));
  cd_set(d, &pa->address.country, cd_get(d, 8, 0));
}

static void cd_loc_into(cd_ctx *d, gw_location *l) {
  cd_set(d, &l->code, cd_get(d, 1, 0));
  cd_set(d, &l->name, cd_get(d, 1, 3));
}

static void cd_measure(cd_ctx *d, gw_measure *m) {
  cd_set(d, &m->unit, cd_get(d, 2, 0));
  cd_set(d, &m->value, cd_get(d, 2, 1));
}

static void cd_tdt(cd_ctx *d, gw_consignment *c) {
  const char *stage = cd_get(d, 0, 0);
  gw_transport *t = cd_is(stage, "11") ? &c->border_transport : cd_is(stage, "12") ? &c->departure_transport : NULL;
  if (!t) return;
  cd_set(d, &t->journey_id, cd_get(d, 1, 0));
  cd_set(d, &t->mode, cd_get(d, 2, 0));
  cd_set(d, &t->means_type, cd_get(d, 3, 0));
  cd_set(d, &t->means_id, cd_get(d, 7, 0));
  cd_set(d, &t->nationality, cd_get(d, 7, 4));
}

/* DOC and an optional DTM+182 right after it. */
static void cd_doc(cd_ctx *d, gw_docref **arr, size_t *n) {
  gw_docref *r = gw_model_push((void **)arr, n, sizeof **arr);
  if (!r) { d->rc = GW_ENOMEM; return; }
  cd_set(d, &r->type, cd_get(d, 0, 0));
  cd_set(d, &r->id, cd_get(d, 1, 0));
  cd_set(d, &r->issuer, cd_get(d, 1, 2));
  size_t save = d->seg;
  if (d->seg + 1 < d->ix->n_segs && !strcmp(d->ix->segs[d->seg + 1].tag, "DTM")) {
    d->seg++;
    if (cd_is(cd_get(d, 0, 0), "182")) cd_date(d, &r->issued);
  }
  d->seg = save;
}

static const char *cd_decision(const char *status) {
  if (cd_is(status, "1")) return "ACCEPTED";
  if (cd_is(status, "2") || cd_is(status, "3")) return "REFUSED";
  if (cd_is(status, "4")) return "RELEASED";
  if (cd_is(status, "5")) return "INSPECTION_REQUIRED";
  return NULL;
}

/* BGM 1001 document name codes of a goods declaration and the canonical
 * declaration type (WCO: EX export, IM import). UNTDID 1001: 830 goods
 * declaration for exportation, 929 goods declaration for importation.
 * Other codes travel as they are. */
static const char *const cd_doc_types[][2] = {{"830", "EX"}, {"929", "IM"}};

static const char *cd_type_in(const char *code) {
  for (size_t i = 0; code && i < sizeof(cd_doc_types) / sizeof(cd_doc_types[0]); i++)
    if (!strcmp(code, cd_doc_types[i][0])) return cd_doc_types[i][1];
  return code;
}

static const char *cd_type_out(const char *type) {
  for (size_t i = 0; type && i < sizeof(cd_doc_types) / sizeof(cd_doc_types[0]); i++)
    if (!strcmp(type, cd_doc_types[i][1])) return cd_doc_types[i][0];
  return type;
}

static void cd_map_cusdec(cd_ctx *d, const gw_edi_message *m, gw_consignment *c) {
  int detail = 0; /* after the first UNS */
  gw_item *it = NULL;
  const char *group = ""; /* last group trigger seen, to know where FTX/DTM/MOA belong */
  for (d->seg = m->unh + 1; d->seg < m->unt && !d->rc; d->seg++) {
    const char *tag = d->ix->segs[d->seg].tag, *q = cd_get(d, 0, 0);
    if (!strcmp(tag, "UNS")) {
      detail = 1;
      it = NULL;
      group = "UNS";
    } else if (!strcmp(tag, "BGM")) {
      cd_set(d, &c->type_code, cd_type_in(q));
      cd_set(d, &c->lrn, cd_get(d, 1, 0));
      cd_set(d, &c->function_code, cd_get(d, 2, 0));
    } else if (!strcmp(tag, "CST") && detail) {
      it = GW_MODEL_PUSH(c->items, c->n_items);
      if (!it) { d->rc = GW_ENOMEM; break; }
      group = "CST";
      cd_set(d, &it->sequence, q);
      const char *list = cd_get(d, 1, 1);
      if (cd_is(list, "HS") || cd_is(list, "TSP") || cd_is(list, "169")) cd_set(d, &it->hs_code, cd_get(d, 1, 0));
    } else if (!strcmp(tag, "CNT")) {
      if (cd_is(q, "5")) cd_set(d, &c->declared_items, cd_get(d, 0, 1));
      if (cd_is(q, "11")) cd_set(d, &c->total_packages, cd_get(d, 0, 1));
    } else if (it) {
      /* item level (SG30 and its groups) */
      if (!strcmp(tag, "FTX") && !strcmp(group, "CST") && cd_is(q, "AAA")) cd_set(d, &it->description, cd_get(d, 3, 0));
      else if (!strcmp(tag, "LOC") && cd_is(q, "27")) cd_set(d, &it->origin_country, cd_get(d, 1, 0));
      else if (!strcmp(tag, "MEA") && cd_is(q, "AAE") && cd_is(cd_get(d, 1, 0), "G")) cd_measure(d, &it->gross_weight);
      else if (!strcmp(tag, "MEA") && cd_is(q, "AAE") && cd_is(cd_get(d, 1, 0), "AAL")) cd_measure(d, &it->net_weight);
      else if (!strcmp(tag, "PAC")) {
        group = "PAC";
        cd_set(d, &it->package_count, q);
        cd_set(d, &it->package_type, cd_get(d, 2, 0));
      } else if (!strcmp(tag, "PCI")) cd_set(d, &it->package_marks, cd_get(d, 1, 0));
      else if (!strcmp(tag, "MOA")) {
        group = "MOA";
        if (cd_is(q, "40")) {
          cd_set(d, &it->value.value, cd_get(d, 0, 1));
          cd_set(d, &it->value.currency, cd_get(d, 0, 2));
        }
      } else if (!strcmp(tag, "CUX") && !strcmp(group, "MOA")) cd_set(d, &it->value.currency, cd_get(d, 0, 1));
      else if (!strcmp(tag, "RFF")) {
        group = "RFF";
        if (cd_is(q, "HS") && !it->hs_code) cd_set(d, &it->hs_code, cd_get(d, 0, 1));
      } else if (!strcmp(tag, "DOC")) {
        group = "DOC";
        cd_doc(d, &it->documents, &it->n_documents);
      }
    } else if (!detail) {
      if (!strcmp(tag, "DTM") && !strcmp(group, "") && cd_is(q, "137")) cd_date(d, &c->issued_at);
      else if (!strcmp(tag, "LOC") && !strcmp(group, "")) {
        if (cd_is(q, "9")) cd_loc_into(d, &c->loading);
        else if (cd_is(q, "11")) cd_loc_into(d, &c->unloading);
        else if (cd_is(q, "41")) cd_loc_into(d, &c->entry_point);
        else if (cd_is(q, "22")) cd_set(d, &c->declaration_office, cd_get(d, 1, 0));
        else if (cd_is(q, "42")) cd_set(d, &c->exit_office, cd_get(d, 1, 0));
        else if (cd_is(q, "35")) cd_set(d, &c->export_country, cd_get(d, 1, 0));
        else if (cd_is(q, "36")) cd_set(d, &c->destination_country, cd_get(d, 1, 0));
      } else if (!strcmp(tag, "MEA") && cd_is(q, "AAE") && cd_is(cd_get(d, 1, 0), "G")) cd_measure(d, &c->total_gross_weight);
      else if (!strcmp(tag, "EQD") && cd_is(q, "CN")) {
        gw_equipment *e = GW_MODEL_PUSH(c->equipment, c->n_equipment);
        if (!e) { d->rc = GW_ENOMEM; break; }
        cd_set(d, &e->id, cd_get(d, 1, 0));
        cd_set(d, &e->size_type, cd_get(d, 2, 0));
      } else if (!strcmp(tag, "FTX") && !strcmp(group, "")) {
        gw_note *n = GW_MODEL_PUSH(c->remarks, c->n_remarks);
        if (!n) { d->rc = GW_ENOMEM; break; }
        cd_set(d, &n->subject, cd_get(d, 2, 0));
        cd_set(d, &n->text, cd_get(d, 3, 0));
      } else if (!strcmp(tag, "RFF")) {
        group = "RFF";
        if (cd_is(q, "ABE")) cd_set(d, &c->ucr, cd_get(d, 0, 1));
        else if (cd_is(q, "ABT") || (cd_is(q, "AAE") && !c->mrn)) cd_set(d, &c->mrn, cd_get(d, 0, 1));
      } else if (!strcmp(tag, "TDT")) {
        group = "TDT";
        cd_tdt(d, c);
      } else if (!strcmp(tag, "DOC")) {
        group = "DOC";
        cd_doc(d, &c->documents, &c->n_documents);
      } else if (!strcmp(tag, "NAD")) {
        group = "NAD";
        cd_nad(d, c);
      } else if (!strcmp(tag, "TOD")) {
        group = "TOD";
        cd_set(d, &c->incoterm, cd_get(d, 2, 0));
      } else if (!strcmp(tag, "MOA")) {
        group = "MOA";
        if (cd_is(q, "39")) {
          cd_set(d, &c->invoice.value, cd_get(d, 0, 1));
          cd_set(d, &c->invoice.currency, cd_get(d, 0, 2));
        }
      } else if (!strcmp(tag, "CUX") && !strcmp(group, "MOA") && c->invoice.value && !c->invoice.currency)
        cd_set(d, &c->invoice.currency, cd_get(d, 0, 1));
    }
  }
}

static void cd_map_cusres(cd_ctx *d, const gw_edi_message *m, gw_consignment *c) {
  gw_note *err = NULL;
  const char *group = "";
  for (d->seg = m->unh + 1; d->seg < m->unt && !d->rc; d->seg++) {
    const char *tag = d->ix->segs[d->seg].tag, *q = cd_get(d, 0, 0);
    if (!strcmp(tag, "BGM")) {
      cd_set(d, &c->type_code, q);
      cd_set(d, &c->lrn, cd_get(d, 1, 0));
      cd_set(d, &c->function_code, cd_get(d, 2, 0));
    } else if (!strcmp(tag, "DTM") && !strcmp(group, "") && cd_is(q, "137")) cd_date(d, &c->response.issued_at);
    else if (!strcmp(tag, "GIS") && !strcmp(group, "") && !c->response.status) {
      cd_set(d, &c->response.status, q);
      cd_set(d, &c->response.decision, cd_decision(q));
    } else if (!strcmp(tag, "RFF") && (!strcmp(group, "") || !strcmp(group, "RFF"))) {
      group = "RFF";
      if (cd_is(q, "ACW")) cd_set(d, &c->response.ref_id, cd_get(d, 0, 1));
      else if (cd_is(q, "ABT")) cd_set(d, &c->mrn, cd_get(d, 0, 1));
      else if (cd_is(q, "ABE")) cd_set(d, &c->ucr, cd_get(d, 0, 1));
    } else if (!strcmp(tag, "ERP")) {
      group = "ERP";
      err = GW_MODEL_PUSH(c->response.errors, c->response.n_errors);
      if (!err) { d->rc = GW_ENOMEM; break; }
    } else if (err && !strcmp(group, "ERP") && !strcmp(tag, "ERC")) cd_set(d, &err->subject, q);
    else if (err && !strcmp(group, "ERP") && !strcmp(tag, "FTX") && cd_is(q, "AAO")) cd_set(d, &err->text, cd_get(d, 3, 0));
    else if (!strcmp(tag, "NAD") || !strcmp(tag, "TAX") || !strcmp(tag, "DOC") || !strcmp(tag, "AUT") || !strcmp(tag, "CNT"))
      group = tag;
  }
}

const gw_edi_structure *gw_cusdec_structure(const char *type, const char *release) {
  int d96 = cd_is(release, "96B"), d99 = cd_is(release, "99B");
  if (cd_is(type, "CUSDEC")) return d96 ? &gw_cusdec_st_cusdec_d96b : d99 ? &gw_cusdec_st_cusdec_d99b : NULL;
  if (cd_is(type, "CUSRES")) return d96 ? &gw_cusdec_st_cusres_d96b : d99 ? &gw_cusdec_st_cusres_d99b : NULL;
  return NULL;
}

static int cd_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *c, gw_problems *p) {
  (void)a;
  gw_edi_interchange ix = {0};
  int rc = gw_edi_parse(in->data, in->len, &ix, p);
  if (!rc) rc = gw_edi_check_controls(&ix, p);
  if (rc) {
    gw_edi_free(&ix);
    return rc;
  }
  const gw_edi_message *m = NULL;
  for (size_t i = 0; i < ix.n_msgs; i++) {
    const gw_edi_message *x = &ix.msgs[i];
    if (!cd_is(x->type, "CUSDEC") && !cd_is(x->type, "CUSRES")) continue;
    if (m) {
      char path[CD_PATH];
      gw_edi_path(&ix, x->unh, 0, path, sizeof path);
      gw_problems_add(p, "extra_message", "warning", ix.segs[x->unh].line, path,
                      "only the first CUSDEC/CUSRES message of an interchange is decoded; message %s ignored", x->ref);
      continue;
    }
    m = x;
  }
  if (!m) {
    gw_problems_add(p, "no_message", "error", 0, "", "the interchange holds no CUSDEC or CUSRES message");
    gw_edi_free(&ix);
    return GW_ESCHEMA;
  }
  char path[CD_PATH];
  gw_edi_path(&ix, m->unh, 2, path, sizeof path);
  const gw_edi_structure *st = gw_cusdec_structure(m->type, m->release);
  if (!cd_is(m->version, "D") || !cd_is(m->agency, "UN") || !st) {
    gw_problems_add(p, "unsupported_directory", "error", ix.segs[m->unh].line, path,
                    "%s directory %s:%s:%s is not supported (D:96B:UN and D:99B:UN are)", m->type,
                    m->version ? m->version : "", m->release ? m->release : "", m->agency ? m->agency : "");
    gw_edi_free(&ix);
    return GW_EUNSUPPORTED;
  }
  if ((rc = gw_edi_check_structure(&ix, (size_t)(m - ix.msgs), st, p))) {
    gw_edi_free(&ix);
    return rc;
  }
  int res = cd_is(m->type, "CUSRES");
  cd_ctx d = {&ix, p, 0, 0};
  if (gw_model_set(&c->kind, res ? GW_KIND_RESPONSE : GW_KIND_DECLARATION, -1)) d.rc = GW_ENOMEM;
  if (res) cd_map_cusres(&d, m, c);
  else cd_map_cusdec(&d, m, c);
  if (d.rc == GW_ENOMEM) gw_problems_add(p, "out_of_memory", "error", 0, "", "out of memory while mapping %s", m->type);
  gw_edi_free(&ix);
  return d.rc;
}

/* ---- encode ---------------------------------------------------------------- */

static void cd_w_date(gw_edi_writer *w, const char *qual, const char *iso, const char *path, gw_problems *p) {
  char v[16];
  const char *fmt;
  if (!iso) return;
  if (cd_iso_to_date(iso, v, sizeof v, &fmt)) {
    /* A time with a zone (or fractions) has no DTM format here: keep the
     * date, which all of them start with, and say what is not carried. */
    char day[11];
    snprintf(day, sizeof(day), "%.10s", iso);
    if (strlen(iso) > 10 && !cd_iso_to_date(day, v, sizeof v, &fmt)) {
      gw_problems_add(p, "lossy_field", "warning", 0, path,
                      "'%s': DTM+%s carries the date; the time and its zone are not passed on", iso, qual);
    } else {
      gw_problems_add(p, "lossy_field", "warning", 0, path,
                      "date '%s' is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ss; DTM+%s not written", iso, qual);
      return;
    }
  }
  gw_edi_w_seg(w, "DTM");
  gw_edi_w_el(w, qual);
  gw_edi_w_comp(w, v);
  gw_edi_w_comp(w, fmt);
  gw_edi_w_end(w);
}

static void cd_w_loc(gw_edi_writer *w, const char *qual, const char *code, const char *name) {
  if (!code && !name) return;
  gw_edi_w_seg(w, "LOC");
  gw_edi_w_el(w, qual);
  gw_edi_w_el(w, code);
  gw_edi_w_comp(w, NULL);
  gw_edi_w_comp(w, NULL);
  gw_edi_w_comp(w, name);
  gw_edi_w_end(w);
}

static void cd_w_mea(gw_edi_writer *w, const char *attr, const gw_measure *m) {
  if (!m->value && !m->unit) return;
  gw_edi_w_seg(w, "MEA");
  gw_edi_w_el(w, "AAE");
  gw_edi_w_el(w, attr);
  gw_edi_w_el(w, m->unit);
  gw_edi_w_comp(w, m->value);
  gw_edi_w_end(w);
}

static void cd_w_ref(gw_edi_writer *w, const char *qual, const char *v) {
  if (!v) return;
  gw_edi_w_seg(w, "RFF");
  gw_edi_w_el(w, qual);
  gw_edi_w_comp(w, v);
  gw_edi_w_end(w);
}

static void cd_w_tdt(gw_edi_writer *w, const char *stage, const gw_transport *t) {
  if (!t->mode && !t->means_type && !t->means_id && !t->nationality && !t->journey_id) return;
  gw_edi_w_seg(w, "TDT");
  gw_edi_w_el(w, stage);
  gw_edi_w_el(w, t->journey_id);
  gw_edi_w_el(w, t->mode);
  gw_edi_w_el(w, t->means_type);
  gw_edi_w_el(w, NULL);
  gw_edi_w_el(w, NULL);
  gw_edi_w_el(w, NULL);
  gw_edi_w_el(w, t->means_id);
  gw_edi_w_comp(w, NULL);
  gw_edi_w_comp(w, NULL);
  gw_edi_w_comp(w, NULL);
  gw_edi_w_comp(w, t->nationality);
  gw_edi_w_end(w);
}

static void cd_w_docs(gw_edi_writer *w, const gw_docref *r, size_t n, gw_problems *p) {
  for (size_t i = 0; i < n; i++) {
    gw_edi_w_seg(w, "DOC");
    gw_edi_w_el(w, r[i].type);
    gw_edi_w_el(w, r[i].id);
    gw_edi_w_comp(w, NULL);
    gw_edi_w_comp(w, r[i].issuer);
    gw_edi_w_end(w);
    cd_w_date(w, "182", r[i].issued, "documents.issued", p);
  }
}

static const char *cd_role_code(const char *role) {
  for (size_t i = 0; cd_roles[i].code; i++)
    if (cd_is(role, cd_roles[i].role)) return cd_roles[i].code;
  return NULL;
}

static void cd_w_nads(gw_edi_writer *w, const gw_consignment *c, gw_problems *p) {
  for (size_t i = 0; i < c->n_parties; i++) {
    const gw_party *pa = &c->parties[i];
    const char *q = cd_role_code(pa->role);
    if (!q) {
      char path[64];
      snprintf(path, sizeof path, "parties[%zu].role", i);
      gw_problems_add(p, "lossy_field", "warning", 0, path, "party role %s has no NAD qualifier; party not encoded",
                      pa->role ? pa->role : "(none)");
      continue;
    }
    gw_edi_w_seg(w, "NAD");
    gw_edi_w_el(w, q);
    gw_edi_w_el(w, pa->id);
    gw_edi_w_comp(w, pa->id_scheme);
    gw_edi_w_el(w, NULL);
    gw_edi_w_el(w, pa->name);
    gw_edi_w_el(w, pa->address.line);
    gw_edi_w_el(w, pa->address.city);
    gw_edi_w_el(w, pa->address.subdivision);
    gw_edi_w_el(w, pa->address.postcode);
    gw_edi_w_el(w, pa->address.country);
    gw_edi_w_end(w);
  }
}

static void cd_w_bgm(gw_edi_writer *w, const gw_consignment *c) {
  gw_edi_w_seg(w, "BGM");
  gw_edi_w_el(w, c->kind && !strcmp(c->kind, GW_KIND_DECLARATION) ? cd_type_out(c->type_code) : c->type_code);
  gw_edi_w_el(w, c->lrn);
  gw_edi_w_el(w, c->function_code);
  gw_edi_w_end(w);
}

static void cd_w_cusdec(gw_edi_writer *w, const gw_consignment *c, gw_problems *p) {
  cd_w_bgm(w, c);
  cd_w_loc(w, "9", c->loading.code, c->loading.name);
  cd_w_loc(w, "11", c->unloading.code, c->unloading.name);
  cd_w_loc(w, "41", c->entry_point.code, c->entry_point.name);
  cd_w_loc(w, "22", c->declaration_office, NULL);
  cd_w_loc(w, "42", c->exit_office, NULL);
  cd_w_loc(w, "35", c->export_country, NULL);
  cd_w_loc(w, "36", c->destination_country, NULL);
  cd_w_date(w, "137", c->issued_at, "issued_at", p);
  cd_w_mea(w, "G", &c->total_gross_weight);
  for (size_t i = 0; i < c->n_equipment; i++) {
    gw_edi_w_seg(w, "EQD");
    gw_edi_w_el(w, "CN");
    gw_edi_w_el(w, c->equipment[i].id);
    gw_edi_w_el(w, c->equipment[i].size_type);
    gw_edi_w_end(w);
  }
  for (size_t i = 0; i < c->n_remarks; i++) {
    gw_edi_w_seg(w, "FTX");
    gw_edi_w_el(w, "ACB");
    gw_edi_w_el(w, NULL);
    gw_edi_w_el(w, c->remarks[i].subject);
    gw_edi_w_el(w, c->remarks[i].text);
    gw_edi_w_end(w);
  }
  cd_w_ref(w, "ABE", c->ucr);
  cd_w_ref(w, "ABT", c->mrn);
  cd_w_tdt(w, "12", &c->departure_transport);
  cd_w_tdt(w, "11", &c->border_transport);
  cd_w_docs(w, c->documents, c->n_documents, p);
  cd_w_nads(w, c, p);
  if (c->incoterm) {
    gw_edi_w_seg(w, "TOD");
    gw_edi_w_el(w, NULL);
    gw_edi_w_el(w, NULL);
    gw_edi_w_el(w, c->incoterm);
    gw_edi_w_end(w);
  }
  if (c->invoice.value || c->invoice.currency) {
    gw_edi_w_seg(w, "MOA");
    gw_edi_w_el(w, "39");
    gw_edi_w_comp(w, c->invoice.value);
    gw_edi_w_comp(w, c->invoice.currency);
    gw_edi_w_end(w);
  }
  gw_edi_w_seg(w, "UNS");
  gw_edi_w_el(w, "D");
  gw_edi_w_end(w);
  for (size_t i = 0; i < c->n_items; i++) {
    const gw_item *it = &c->items[i];
    gw_edi_w_seg(w, "CST");
    gw_edi_w_el(w, it->sequence);
    gw_edi_w_el(w, it->hs_code);
    if (it->hs_code) gw_edi_w_comp(w, "HS");
    gw_edi_w_end(w);
    if (it->description) {
      gw_edi_w_seg(w, "FTX");
      gw_edi_w_el(w, "AAA");
      gw_edi_w_el(w, NULL);
      gw_edi_w_el(w, NULL);
      gw_edi_w_el(w, it->description);
      gw_edi_w_end(w);
    }
    cd_w_loc(w, "27", it->origin_country, NULL);
    cd_w_mea(w, "G", &it->gross_weight);
    cd_w_mea(w, "AAL", &it->net_weight);
    if (it->package_count || it->package_type || it->package_marks) {
      gw_edi_w_seg(w, "PAC");
      gw_edi_w_el(w, it->package_count);
      gw_edi_w_el(w, NULL);
      gw_edi_w_el(w, it->package_type);
      gw_edi_w_end(w);
      if (it->package_marks) {
        gw_edi_w_seg(w, "PCI");
        gw_edi_w_el(w, NULL);
        gw_edi_w_el(w, it->package_marks);
        gw_edi_w_end(w);
      }
    }
    if (it->value.value || it->value.currency) {
      gw_edi_w_seg(w, "MOA");
      gw_edi_w_el(w, "40");
      gw_edi_w_comp(w, it->value.value);
      gw_edi_w_end(w);
      if (it->value.currency) {
        gw_edi_w_seg(w, "CUX");
        gw_edi_w_el(w, "2");
        gw_edi_w_comp(w, it->value.currency);
        gw_edi_w_comp(w, "4");
        gw_edi_w_end(w);
      }
    }
    cd_w_docs(w, it->documents, it->n_documents, p);
  }
  gw_edi_w_seg(w, "UNS");
  gw_edi_w_el(w, "S");
  gw_edi_w_end(w);
  if (c->declared_items) {
    gw_edi_w_seg(w, "CNT");
    gw_edi_w_el(w, "5");
    gw_edi_w_comp(w, c->declared_items);
    gw_edi_w_end(w);
  }
  if (c->total_packages) {
    gw_edi_w_seg(w, "CNT");
    gw_edi_w_el(w, "11");
    gw_edi_w_comp(w, c->total_packages);
    gw_edi_w_end(w);
  }
}

static void cd_w_cusres(gw_edi_writer *w, const gw_consignment *c, gw_problems *p) {
  const gw_response *r = &c->response;
  cd_w_bgm(w, c);
  cd_w_date(w, "137", r->issued_at, "response.issued_at", p);
  /* The decision is derived from GIS on decode; writing GIS from a bare
   * decision would invent a status, so only the status is written. */
  const char *st = r->status;
  if (st) {
    gw_edi_w_seg(w, "GIS");
    gw_edi_w_el(w, st);
    gw_edi_w_end(w);
  }
  cd_w_ref(w, "ACW", r->ref_id);
  cd_w_ref(w, "ABT", c->mrn);
  cd_w_ref(w, "ABE", c->ucr);
  for (size_t i = 0; i < r->n_errors; i++) {
    gw_edi_w_seg(w, "ERP");
    gw_edi_w_el(w, "1");
    gw_edi_w_end(w);
    if (r->errors[i].subject) {
      gw_edi_w_seg(w, "ERC");
      gw_edi_w_el(w, r->errors[i].subject);
      gw_edi_w_end(w);
    }
    if (r->errors[i].text) {
      gw_edi_w_seg(w, "FTX");
      gw_edi_w_el(w, "AAO");
      gw_edi_w_el(w, NULL);
      gw_edi_w_el(w, NULL);
      gw_edi_w_el(w, r->errors[i].text);
      gw_edi_w_end(w);
    }
  }
}

static void cd_ascii_visit(const char *path, const char *value, void *ud) {
  (void)path;
  for (const unsigned char *q = (const unsigned char *)value; *q; q++)
    if (*q >= 0x80) *(int *)ud = 0;
}

int gw_cusdec_encode_dir(const gw_consignment *c, const char *release, gw_adapter_output *out, gw_problems *p) {
  if (!c || !out) return GW_EINVAL;
  if (!cd_is(release, "96B") && !cd_is(release, "99B")) {
    gw_problems_add(p, "unsupported_directory", "error", 0, "", "directory %s is not supported (96B, 99B)",
                    release ? release : "(none)");
    return GW_EUNSUPPORTED;
  }
  int res = cd_is(c->kind, GW_KIND_RESPONSE);
  if (!res && c->kind && !cd_is(c->kind, GW_KIND_DECLARATION)) {
    gw_problems_add(p, "unsupported_kind", "error", 0, "kind", "CUSDEC/CUSRES cannot carry a %s", c->kind);
    return GW_EUNSUPPORTED;
  }
  int ascii = 1;
  gw_model_visit(c, cd_ascii_visit, &ascii);
  /* UNOC:3 for plain ASCII (the most widely accepted), UNOW:4 (UTF-8) when a
   * name needs Thai, Khmer, Lao, Myanmar, Vietnamese or Chinese letters. */
  gw_edi_writer w;
  gw_edi_w_init(&w, NULL, 1, 1);
  char date[16] = "000101", time[8] = "0000";
  const char *when = res ? c->response.issued_at : c->issued_at;
  char v[16];
  const char *fmt;
  if (when && !cd_iso_to_date(when, v, sizeof v, &fmt)) {
    snprintf(date, sizeof date, "%.6s", v + 2);
    if (strlen(v) >= 12) snprintf(time, sizeof time, "%.4s", v + 8);
  }
  gw_edi_w_seg(&w, "UNB");
  gw_edi_w_el(&w, ascii ? "UNOC" : "UNOW");
  gw_edi_w_comp(&w, ascii ? "3" : "4");
  gw_edi_w_el(&w, "LMCGW");
  /* The recipient is addressed by the destination country when that is a
   * plain code; UNB itself is read before its repertoire is known, so it
   * stays ASCII. */
  const char *to = c->destination_country ? c->destination_country : c->import_country;
  int plain = to && strlen(to) <= 35;
  for (const char *q = to; plain && *q; q++)
    if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))) plain = 0;
  gw_edi_w_el(&w, plain ? to : "CUSTOMS");
  gw_edi_w_el(&w, date);
  gw_edi_w_comp(&w, time);
  gw_edi_w_el(&w, "1");
  gw_edi_w_end(&w);
  size_t unh = w.n_segs;
  gw_edi_w_seg(&w, "UNH");
  gw_edi_w_el(&w, "1");
  gw_edi_w_el(&w, res ? "CUSRES" : "CUSDEC");
  gw_edi_w_comp(&w, "D");
  gw_edi_w_comp(&w, release);
  gw_edi_w_comp(&w, "UN");
  gw_edi_w_end(&w);
  if (res) cd_w_cusres(&w, c, p);
  else cd_w_cusdec(&w, c, p);
  char cnt[24];
  snprintf(cnt, sizeof cnt, "%zu", w.n_segs - unh + 1);
  gw_edi_w_seg(&w, "UNT");
  gw_edi_w_el(&w, cnt);
  gw_edi_w_el(&w, "1");
  gw_edi_w_end(&w);
  gw_edi_w_seg(&w, "UNZ");
  gw_edi_w_el(&w, "1");
  gw_edi_w_el(&w, "1");
  gw_edi_w_end(&w);
  int rc = gw_edi_w_take(&w, &out->data, &out->len);
  if (rc == GW_ENOMEM) gw_problems_add(p, "out_of_memory", "error", 0, "", "out of memory writing the interchange");
  else if (rc)
    gw_problems_add(p, "too_big", "error", 0, "",
                    "a value is longer than %d characters, or the interchange over %zu bytes", GW_EDI_MAX_VALUE,
                    GW_EDI_MAX_INPUT);
  return rc;
}

static int cd_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out, gw_problems *p) {
  (void)a;
  return gw_cusdec_encode_dir(c, "99B", out, p);
}

static int cd_detect(const char *data, size_t len) {
  int base = gw_edi_sniff(data, len);
  if (!base) return 0;
  /* UNH+ref+CUSDEC or CUSRES near the start makes it ours. */
  size_t lim = len < 2048 ? len : 2048;
  for (size_t i = 0; i + 10 < lim; i++)
    if (!memcmp(data + i, "UNH", 3)) {
      for (size_t j = i + 3; j + 6 <= lim && j < i + 40; j++)
        if (!memcmp(data + j, "CUSDEC", 6) || !memcmp(data + j, "CUSRES", 6)) return 95;
      return 10;
    }
  return 10;
}

/* Per kind: CUSDEC carries the declaration, CUSRES the response and the
 * references it answers. NAD has the six WCO party roles. */
static const char *const cd_carries[] = {
    "parties.role=exporter", "parties.role=importer", "parties.role=consignor", "parties.role=consignee",
    "parties.role=declarant", "parties.role=carrier",
    "kind", "declaration:type_code", "declaration:function_code", "lrn", "ucr", "mrn", "declaration:issued_at", "declaration:declaration_office", "declaration:exit_office",
    "declaration:export_country", "declaration:destination_country", "declaration:loading.code", "declaration:loading.name", "declaration:unloading.code", "declaration:unloading.name", "declaration:entry_point.code", "declaration:entry_point.name",
    "declaration:border_transport.mode", "declaration:border_transport.means_type", "declaration:border_transport.means_id",
    "declaration:border_transport.nationality", "declaration:border_transport.journey_id", "declaration:departure_transport.mode",
    "declaration:departure_transport.means_type", "declaration:departure_transport.means_id", "declaration:departure_transport.nationality",
    "declaration:departure_transport.journey_id", "declaration:incoterm", "declaration:invoice.*", "declaration:total_packages", "declaration:declared_items",
    "declaration:total_gross_weight.*", "declaration:parties.role", "declaration:parties.id", "declaration:parties.id_scheme", "declaration:parties.name", "declaration:parties.address.*",
    "declaration:items.sequence", "declaration:items.hs_code", "declaration:items.description", "declaration:items.gross_weight.*", "declaration:items.net_weight.*",
    "declaration:items.value.*", "declaration:items.origin_country", "declaration:items.package_type", "declaration:items.package_count", "declaration:items.package_marks",
    "declaration:items.documents.*", "declaration:documents.*", "declaration:equipment.id", "declaration:equipment.size_type", "declaration:remarks.*", "response:response.status",
    "response:response.issued_at", "response:response.ref_id", "response:response.errors.*", NULL};

const gw_adapter gw_adapter_cusdec = {
    .abi = GW_ADAPTER_ABI,
    .name = "cusdec",
    .description = "UN/EDIFACT CUSDEC customs declaration and CUSRES response (D.96B, D.99B)",
    .media_type = "application/edifact",
    .kinds = GW_KIND_DECLARATION "," GW_KIND_RESPONSE,
    .roots = NULL,
    .carries = cd_carries,
    .detect = cd_detect,
    .decode = cd_decode,
    .encode = cd_encode,
};
