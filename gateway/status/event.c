#include "status/event.h"

#include "core/jsonw.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const stage_names[GW_STATUS_COUNT] = {
    "RECEIVED", "VALIDATED",    "REJECTED", "SIGNED",   "ROUTED",   "DELIVERED", "DELIVERY_FAILED",
    "ACKNOWLEDGED", "ACCEPTED", "INSPECTION_REQUIRED", "RELEASED", "REFUSED",
};

const char *gw_status_stage_name(int stage) {
  return stage >= 0 && stage < GW_STATUS_COUNT ? stage_names[stage] : NULL;
}

int gw_status_stage_parse(const char *s) {
  if (!s) return -1;
  for (int i = 0; i < GW_STATUS_COUNT; i++)
    if (!strcmp(s, stage_names[i])) return i;
  return -1;
}

int gw_status_stage_is_decision(int stage) {
  return stage >= GW_STATUS_ACCEPTED && stage <= GW_STATUS_REFUSED;
}

int gw_status_doctype_valid(const char *s) {
  static const char *const types[] = {"", GW_STATUS_DOC_DECLARATION, GW_STATUS_DOC_RESPONSE, GW_STATUS_DOC_SPS,
                                      GW_STATUS_DOC_SPS_ACK, GW_STATUS_DOC_CO};
  if (!s) return 0;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (!strcmp(s, types[i])) return 1;
  return 0;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based
 * formula: 400-year eras of 146097 days, years starting in March). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *v) {
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 0;
}

int gw_status_time_parse(const char *s, int64_t *ms) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, mo, d, h, mi, sec;
  if (!s || strlen(s) < 20) return GW_EINVAL;
  if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
      s[16] != ':' || digits(s + 17, 2, &sec))
    return GW_EINVAL;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
    return GW_EINVAL;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return GW_EINVAL;
  if (sec == 60) sec = 59; /* a leap second sorts with the second before it */
  const char *p = s + 19;
  int frac = 0;
  if (*p == '.') {
    p++;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n < 3) frac = frac * 10 + (*p - '0');
      n++;
      p++;
    }
    if (n == 0) return GW_EINVAL;
    for (; n < 3; n++) frac *= 10;
  }
  int off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59) return GW_EINVAL;
    off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return GW_EINVAL;
  }
  if (*p) return GW_EINVAL;
  int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
  if (t < 0) return GW_EINVAL;
  *ms = t * 1000 + frac;
  return 0;
}

void gw_status_time_format(int64_t ms, char *buf, size_t len) {
  if (ms < 0) ms = 0;
  int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  int y, m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
           (int)(rem % 60), (int)(ms % 1000));
}

/* ---- HS codes ---- */

int gw_status_hs_chapter(const char *hs) {
  if (!hs || hs[0] < '0' || hs[0] > '9' || hs[1] < '0' || hs[1] > '9') return 0;
  return (hs[0] - '0') * 10 + (hs[1] - '0');
}

const char *gw_status_sps_code(int chapter) {
  if (chapter == 1) return "853";
  if ((chapter >= 2 && chapter <= 5) || chapter == 16) return "852";
  if (chapter >= 6 && chapter <= 14) return "851";
  return NULL;
}

int gw_status_perishable(const char *const *hs_codes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int c = gw_status_hs_chapter(hs_codes[i]);
    if (c >= 1 && c <= 24) return 1;
  }
  return 0;
}

int gw_status_needs_sps(const char *const *hs_codes, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (gw_status_sps_code(gw_status_hs_chapter(hs_codes[i]))) return 1;
  return 0;
}

/* ---- parsing ---- */

static const char *jtype(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER:
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

/* An event that is JSON but not an event: the message names the field by its
 * JSON pointer, which also goes to err->path. */
static int bad(gw_error *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(gw_error *err, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (*path)
    GW_ERR(err, GW_ESCHEMA, "status event: field \"%s\" %s", path + 1, msg);
  else
    GW_ERR(err, GW_ESCHEMA, "status event: %s", msg);
  if (err) snprintf(err->path, sizeof(err->path), "%s", path);
  return GW_ESCHEMA;
}

/* A string member; absent or null reads as "" unless required. */
static int get_str(json_t *o, const char *key, const char *path, int required, char **out, gw_error *err) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    if (required) return bad(err, path, "is required");
    *out = strdup("");
  } else if (!json_is_string(v)) {
    return bad(err, path, "must be a string, not %s", jtype(v));
  } else {
    if (required && !*json_string_value(v)) return bad(err, path, "must not be empty");
    *out = strdup(json_string_value(v));
  }
  return *out ? 0 : GW_ERR(err, GW_ENOMEM, "out of memory");
}

static int get_str_array(json_t *o, const char *key, const char *path, char ***out, size_t *n, gw_error *err) {
  json_t *a = json_object_get(o, key);
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return bad(err, path, "must be an array of strings, not %s", jtype(a));
  size_t cnt = json_array_size(a);
  if (!cnt) return 0;
  *out = calloc(cnt, sizeof(char *));
  if (!*out) return GW_ERR(err, GW_ENOMEM, "out of memory");
  for (size_t i = 0; i < cnt; i++) {
    json_t *v = json_array_get(a, i);
    if (!json_is_string(v)) {
      char p[96];
      snprintf(p, sizeof(p), "%s/%zu", path, i);
      return bad(err, p, "must be a string, not %s", jtype(v));
    }
    if (!((*out)[i] = strdup(json_string_value(v)))) return GW_ERR(err, GW_ENOMEM, "out of memory");
    (*n)++;
  }
  return 0;
}

static int parse_cites(json_t *o, gw_status_event *ev, gw_error *err) {
  json_t *a = json_object_get(o, "cites");
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return bad(err, "/cites", "must be an array, not %s", jtype(a));
  size_t cnt = json_array_size(a);
  if (!cnt) return 0;
  if (!(ev->cites = calloc(cnt, sizeof(*ev->cites)))) return GW_ERR(err, GW_ENOMEM, "out of memory");
  for (size_t i = 0; i < cnt; i++) {
    json_t *c = json_array_get(a, i);
    char p[64], pt[80], pn[80];
    snprintf(p, sizeof(p), "/cites/%zu", i);
    if (!json_is_object(c)) return bad(err, p, "must be an object, not %s", jtype(c));
    snprintf(pt, sizeof(pt), "%s/type", p);
    snprintf(pn, sizeof(pn), "%s/number", p);
    gw_status_cite *x = &ev->cites[ev->n_cites++];
    int rc = get_str(c, "type", pt, 1, &x->type, err);
    if (!rc) rc = get_str(c, "number", pn, 1, &x->number, err);
    if (rc) return rc;
  }
  return 0;
}

static int parse_problems(json_t *o, gw_status_event *ev, gw_error *err) {
  json_t *a = json_object_get(o, "problems");
  if (!a || json_is_null(a)) return 0;
  if (!json_is_array(a)) return bad(err, "/problems", "must be an array, not %s", jtype(a));
  size_t cnt = json_array_size(a);
  if (!cnt) return 0;
  if (!(ev->problems = calloc(cnt, sizeof(*ev->problems)))) return GW_ERR(err, GW_ENOMEM, "out of memory");
  for (size_t i = 0; i < cnt; i++) {
    json_t *v = json_array_get(a, i);
    char p[64], f[96];
    snprintf(p, sizeof(p), "/problems/%zu", i);
    if (!json_is_object(v)) return bad(err, p, "must be an object, not %s", jtype(v));
    gw_status_problem *x = &ev->problems[ev->n_problems++];
    static const char *const keys[] = {"code", "severity", "path", "message"};
    char **dst[] = {&x->code, &x->severity, &x->path, &x->message};
    for (int k = 0; k < 4; k++) {
      snprintf(f, sizeof(f), "%s/%s", p, keys[k]);
      int rc = get_str(v, keys[k], f, 0, dst[k], err);
      if (rc) return rc;
    }
    json_t *line = json_object_get(v, "line");
    if (line && !json_is_null(line)) {
      snprintf(f, sizeof(f), "%s/line", p);
      if (!json_is_integer(line)) return bad(err, f, "must be an integer, not %s", jtype(line));
      json_int_t l = json_integer_value(line);
      if (l < 0 || l > 0x7fffffff) return bad(err, f, "out of range");
      x->line = (long)l;
    }
  }
  return 0;
}

static int parse_signature(json_t *o, gw_status_event *ev, gw_error *err) {
  json_t *s = json_object_get(o, "signature");
  if (!s || json_is_null(s)) return 0;
  if (!json_is_object(s)) return bad(err, "/signature", "must be an object or null, not %s", jtype(s));
  gw_status_signature *g = calloc(1, sizeof(*g));
  if (!g) return GW_ERR(err, GW_ENOMEM, "out of memory");
  ev->signature = g;
  int rc = get_str(s, "status", "/signature/status", 0, &g->status, err);
  if (!rc) rc = get_str(s, "signer", "/signature/signer", 0, &g->signer, err);
  if (!rc) rc = get_str(s, "country", "/signature/country", 0, &g->country, err);
  if (!rc) rc = get_str(s, "algorithm", "/signature/algorithm", 0, &g->algorithm, err);
  if (!rc) rc = get_str_array(s, "chain", "/signature/chain", &g->chain, &g->n_chain, err);
  return rc;
}

static int parse_obj(json_t *o, gw_status_event *ev, gw_error *err) {
  int rc;
  char *s = NULL;
  if ((rc = get_str(o, "event_id", "/event_id", 1, &ev->event_id, err)) ||
      (rc = get_str(o, "message_id", "/message_id", 1, &ev->message_id, err)) ||
      (rc = get_str(o, "ucr", "/ucr", 0, &ev->ucr, err)))
    return rc;
  if ((rc = get_str(o, "at", "/at", 1, &s, err))) return rc;
  if (gw_status_time_parse(s, &ev->at_ms)) {
    rc = bad(err, "/at", "must be an RFC 3339 time (1970 or later), not \"%s\"", s);
    free(s);
    return rc;
  }
  free(s);
  if ((rc = get_str(o, "stage", "/stage", 1, &s, err))) return rc;
  int st = gw_status_stage_parse(s);
  if (st < 0) {
    rc = bad(err, "/stage", "names an unknown stage \"%s\"", s);
    free(s);
    return rc;
  }
  free(s);
  ev->stage = (gw_status_stage)st;
  static const struct {
    const char *key, *path;
    size_t off;
  } strs[] = {
      {"gateway", "/gateway", offsetof(gw_status_event, gateway)},
      {"instance", "/instance", offsetof(gw_status_event, instance)},
      {"document_type", "/document_type", offsetof(gw_status_event, document_type)},
      {"document_number", "/document_number", offsetof(gw_status_event, document_number)},
      {"format", "/format", offsetof(gw_status_event, format)},
      {"source_format", "/source_format", offsetof(gw_status_event, source_format)},
      {"origin", "/origin", offsetof(gw_status_event, origin)},
      {"destination", "/destination", offsetof(gw_status_event, destination)},
      {"submitter", "/submitter", offsetof(gw_status_event, submitter)},
      {"detail", "/detail", offsetof(gw_status_event, detail)},
  };
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    if ((rc = get_str(o, strs[i].key, strs[i].path, 0, (char **)((char *)ev + strs[i].off), err))) return rc;
  if (!gw_status_doctype_valid(ev->document_type))
    return bad(err, "/document_type", "names an unknown document type \"%s\"", ev->document_type);
  if ((rc = get_str_array(o, "hs_codes", "/hs_codes", &ev->hs_codes, &ev->n_hs_codes, err))) return rc;
  if ((rc = parse_cites(o, ev, err))) return rc;
  json_t *p = json_object_get(o, "perishable");
  if (p && !json_is_null(p)) {
    if (!json_is_boolean(p)) return bad(err, "/perishable", "must be a boolean, not %s", jtype(p));
    ev->perishable = json_is_true(p);
  }
  if ((rc = parse_signature(o, ev, err)) || (rc = parse_problems(o, ev, err))) return rc;
  ev->decision = -1;
  json_t *d = json_object_get(o, "decision");
  if (d && !json_is_null(d)) {
    if (!json_is_string(d)) return bad(err, "/decision", "must be a string or null, not %s", jtype(d));
    int ds = gw_status_stage_parse(json_string_value(d));
    if (!gw_status_stage_is_decision(ds))
      return bad(err, "/decision", "\"%s\" is not a customs decision", json_string_value(d));
    ev->decision = ds;
  }
  return 0;
}

int gw_status_event_parse(const char *json, size_t len, gw_status_event *out, gw_error *err) {
  memset(out, 0, sizeof(*out));
  out->decision = -1;
  if (len > GW_STATUS_EVENT_MAX)
    return GW_ERR(err, GW_ETOOBIG, "status event: %zu bytes, over the limit of %u", len, GW_STATUS_EVENT_MAX);
  json_error_t je;
  json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) {
    int rc = GW_ERR(err, GW_EPARSE, "status event: not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    if (err) err->line = je.line;
    return rc;
  }
  int rc;
  if (!json_is_object(o))
    rc = bad(err, "", "must be a JSON object, not %s", jtype(o));
  else
    rc = parse_obj(o, out, err);
  json_decref(o);
  if (rc) gw_status_event_free(out);
  return rc;
}

/* ---- printing ---- */

/* With core/jsonw: every message prints four events and the status store
 * prints each again. Keys in the contract's order. */
char *gw_status_event_json(const gw_status_event *ev) {
  char at[32];
  gw_status_time_format(ev->at_ms, at, sizeof(at));
  const char *stage = gw_status_stage_name(ev->stage);
  gw_jw b = {0};
  GW_JW_LIT(&b, "{");
  gw_jw_kstr(&b, "event_id", ev->event_id);
  gw_jw_kstr(&b, "message_id", ev->message_id);
  gw_jw_kstr(&b, "ucr", ev->ucr);
  gw_jw_kstr(&b, "at", at);
  gw_jw_kstr(&b, "stage", stage);
  gw_jw_kstr(&b, "gateway", ev->gateway);
  gw_jw_kstr(&b, "instance", ev->instance);
  gw_jw_kstr(&b, "document_type", ev->document_type);
  gw_jw_kstr(&b, "document_number", ev->document_number);
  gw_jw_kstr(&b, "format", ev->format);
  gw_jw_kstr(&b, "source_format", ev->source_format);
  gw_jw_kstr(&b, "origin", ev->origin);
  gw_jw_kstr(&b, "destination", ev->destination);
  gw_jw_kstr(&b, "submitter", ev->submitter);
  gw_jw_kstrs(&b, "hs_codes", ev->hs_codes, ev->n_hs_codes);
  gw_jw_key(&b, "cites");
  GW_JW_LIT(&b, "[");
  for (size_t i = 0; i < ev->n_cites; i++) {
    if (i) GW_JW_LIT(&b, ",");
    GW_JW_LIT(&b, "{");
    gw_jw_kstr(&b, "type", ev->cites[i].type);
    gw_jw_kstr(&b, "number", ev->cites[i].number);
    GW_JW_LIT(&b, "}");
  }
  GW_JW_LIT(&b, "]");
  gw_jw_key(&b, "perishable");
  if (ev->perishable) GW_JW_LIT(&b, "true");
  else GW_JW_LIT(&b, "false");
  gw_jw_key(&b, "signature");
  if (ev->signature) {
    const gw_status_signature *g = ev->signature;
    GW_JW_LIT(&b, "{");
    gw_jw_kstr(&b, "status", g->status);
    gw_jw_kstr(&b, "signer", g->signer);
    gw_jw_kstr(&b, "country", g->country);
    gw_jw_kstrs(&b, "chain", g->chain, g->n_chain);
    gw_jw_kstr(&b, "algorithm", g->algorithm);
    GW_JW_LIT(&b, "}");
  } else {
    GW_JW_LIT(&b, "null");
  }
  gw_jw_key(&b, "problems");
  GW_JW_LIT(&b, "[");
  for (size_t i = 0; i < ev->n_problems; i++) {
    const gw_status_problem *p = &ev->problems[i];
    char line[24];
    if (i) GW_JW_LIT(&b, ",");
    GW_JW_LIT(&b, "{");
    gw_jw_kstr(&b, "code", p->code);
    gw_jw_kstr(&b, "severity", p->severity);
    gw_jw_kstr(&b, "path", p->path);
    gw_jw_key(&b, "line");
    gw_jw_raw(&b, line, (size_t)snprintf(line, sizeof(line), "%ld", p->line));
    gw_jw_kstr(&b, "message", p->message);
    GW_JW_LIT(&b, "}");
  }
  GW_JW_LIT(&b, "]");
  gw_jw_kstr(&b, "detail", ev->detail);
  gw_jw_key(&b, "decision");
  if (gw_status_stage_is_decision(ev->decision)) gw_jw_str(&b, gw_status_stage_name(ev->decision));
  else GW_JW_LIT(&b, "null");
  GW_JW_LIT(&b, "}");
  return gw_jw_finish(&b);
}

char *gw_status_event_key(const gw_status_event *ev) {
  const char *u = ev->ucr ? ev->ucr : "", *m = ev->message_id ? ev->message_id : "";
  const char *st = gw_status_stage_name(ev->stage);
  if (!st) st = "";
  size_t n = strlen(u) + strlen(m) + strlen(st) + 3;
  char *k = malloc(n);
  if (k) snprintf(k, n, "%s|%s|%s", u, m, st);
  return k;
}

void gw_status_event_free(gw_status_event *ev) {
  if (!ev) return;
  char **strs[] = {&ev->event_id, &ev->message_id, &ev->ucr, &ev->gateway, &ev->instance, &ev->document_type,
                   &ev->document_number, &ev->format, &ev->source_format, &ev->origin, &ev->destination,
                   &ev->submitter, &ev->detail};
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) free(*strs[i]);
  for (size_t i = 0; i < ev->n_hs_codes; i++) free(ev->hs_codes[i]);
  free(ev->hs_codes);
  for (size_t i = 0; i < ev->n_cites; i++) {
    free(ev->cites[i].type);
    free(ev->cites[i].number);
  }
  free(ev->cites);
  for (size_t i = 0; i < ev->n_problems; i++) {
    free(ev->problems[i].code);
    free(ev->problems[i].severity);
    free(ev->problems[i].path);
    free(ev->problems[i].message);
  }
  free(ev->problems);
  if (ev->signature) {
    gw_status_signature *g = ev->signature;
    free(g->status);
    free(g->signer);
    free(g->country);
    free(g->algorithm);
    for (size_t i = 0; i < g->n_chain; i++) free(g->chain[i]);
    free(g->chain);
    free(g);
  }
  memset(ev, 0, sizeof(*ev));
  ev->decision = -1;
}
