/* lmcgw — canonical model <-> JSON, driven by the field tables. */
#include "model/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- to JSON --------------------------------------------------------------- */

static json_t *struct_to_json(const gw_struct_desc *d, const void *obj) {
  json_t *o = json_object();
  if (!o) return NULL;
  for (const gw_field *f = d->fields; f->name; f++) {
    const char *p = (const char *)obj + f->offset;
    json_t *v = NULL;
    switch (f->type) {
    case GW_FT_STR:
      if (*(char *const *)p) v = json_string(*(char *const *)p);
      break;
    case GW_FT_STRUCT:
      v = struct_to_json(f->sub, p);
      if (v && json_object_size(v) == 0) {
        json_decref(v);
        v = NULL;
      }
      break;
    case GW_FT_ARRAY: {
      size_t n = *(const size_t *)((const char *)obj + f->count_offset);
      if (!n) break;
      v = json_array();
      const char *e = *(char *const *)p;
      for (size_t i = 0; v && i < n; i++) json_array_append_new(v, struct_to_json(f->sub, e + i * f->sub->size));
      break;
    }
    }
    if (v) json_object_set_new(o, f->name, v);
  }
  return o;
}

char *gw_model_to_json(const gw_consignment *c, int pretty) {
  json_t *o = struct_to_json(&gw_consignment_desc, c);
  if (!o) return NULL;
  char *s = json_dumps(o, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
  json_decref(o);
  return s;
}

/* ---- from JSON ------------------------------------------------------------- */

static int struct_from_json(const gw_struct_desc *d, json_t *o, void *obj, char *ptr, size_t plen, size_t cap,
                            gw_problems *p) {
  int rc = 0;
  if (!json_is_object(o)) {
    gw_problems_add(p, "json_type", "error", 0, plen ? ptr : "/", "expected an object (%s)", d->name);
    return GW_ESCHEMA;
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    const gw_field *f = d->fields;
    while (f->name && strcmp(f->name, key)) f++;
    int w = snprintf(ptr + plen, cap - plen, "/%s", key);
    size_t l = plen + (w > 0 && (size_t)w < cap - plen ? (size_t)w : 0);
    if (!f->name) {
      gw_problems_add(p, "json_unknown_field", "error", 0, ptr, "'%s' is not a field of %s", key, d->name);
      rc = GW_ESCHEMA;
      ptr[plen] = 0;
      continue;
    }
    char *slot = (char *)obj + f->offset;
    switch (f->type) {
    case GW_FT_STR:
      if (json_is_string(v)) {
        if (gw_model_set((char **)slot, json_string_value(v), (long)json_string_length(v))) return GW_ENOMEM;
      } else if (json_is_integer(v) || json_is_real(v)) {
        /* A portal may send 12.5 for "12.5"; keep its shortest text. */
        char num[64];
        if (json_is_integer(v)) snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        if (gw_model_set((char **)slot, num, -1)) return GW_ENOMEM;
      } else if (!json_is_null(v)) {
        gw_problems_add(p, "json_type", "error", 0, ptr, "%s must be a string", key);
        rc = GW_ESCHEMA;
      }
      break;
    case GW_FT_STRUCT: {
      int r = struct_from_json(f->sub, v, slot, ptr, l, cap, p);
      if (r == GW_ENOMEM) return r;
      if (r) rc = r;
      break;
    }
    case GW_FT_ARRAY: {
      if (json_is_null(v)) break;
      if (!json_is_array(v)) {
        gw_problems_add(p, "json_type", "error", 0, ptr, "%s must be an array", key);
        rc = GW_ESCHEMA;
        break;
      }
      size_t i;
      json_t *e;
      json_array_foreach(v, i, e) {
        void *el = gw_model_push((void **)slot, (size_t *)((char *)obj + f->count_offset), f->sub->size);
        if (!el) return GW_ENOMEM;
        int w2 = snprintf(ptr + l, cap - l, "/%zu", i);
        size_t l2 = l + (w2 > 0 && (size_t)w2 < cap - l ? (size_t)w2 : 0);
        int r = struct_from_json(f->sub, e, el, ptr, l2, cap, p);
        if (r == GW_ENOMEM) return r;
        if (r) rc = r;
        ptr[l] = 0;
      }
      break;
    }
    }
    ptr[plen] = 0;
  }
  return rc;
}

int gw_model_from_json(const char *text, size_t len, gw_consignment *out, gw_problems *p) {
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) {
    gw_problems_add(p, "json_malformed", "error", je.line > 0 ? je.line : 0, "", "not well-formed JSON: %s (column %d)",
                    je.text, je.column);
    return GW_EPARSE;
  }
  char ptr[512] = "";
  int rc = struct_from_json(&gw_consignment_desc, o, out, ptr, 0, sizeof(ptr), p);
  json_decref(o);
  return rc;
}

/* ---- JSON Schema ----------------------------------------------------------- */

static json_t *schema_of(const gw_struct_desc *d, json_t *defs) {
  json_t *def = json_object_get(defs, d->name);
  if (!def) {
    def = json_object();
    json_object_set_new(defs, d->name, def); /* before recursion: guards cycles */
    json_t *props = json_object();
    for (const gw_field *f = d->fields; f->name; f++) {
      json_t *ps;
      if (f->type == GW_FT_STR) {
        ps = json_pack("{s:s}", "type", "string");
      } else {
        schema_of(f->sub, defs);
        char ref[96];
        snprintf(ref, sizeof(ref), "#/$defs/%s", f->sub->name);
        ps = f->type == GW_FT_STRUCT ? json_pack("{s:s}", "$ref", ref)
                                     : json_pack("{s:s, s:{s:s}}", "type", "array", "items", "$ref", ref);
      }
      json_object_set_new(ps, "description", json_string(f->doc));
      json_object_set_new(props, f->name, ps);
    }
    json_object_set_new(def, "type", json_string("object"));
    json_object_set_new(def, "properties", props);
    json_object_set_new(def, "additionalProperties", json_false());
  }
  return def;
}

char *gw_model_json_schema(void) {
  json_t *defs = json_object();
  schema_of(&gw_consignment_desc, defs);
  json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:o}", "$schema", "https://json-schema.org/draft/2020-12/schema",
                           "$id", "urn:lmcgw:schema:consignment:1", "title",
                           "lmcgw canonical consignment (portal JSON format)", "$ref", "#/$defs/consignment",
                           "$defs", defs);
  char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
  json_decref(root);
  return s;
}
