#include "pipeline/problems.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_problems_add(gw_problems *p, const char *code, const char *severity, long line,
                     const char *path, const char *fmt, ...) {
  if (p->n >= GW_PROBLEMS_MAX) {
    p->dropped++;
    return;
  }
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 4;
    gw_problem *n = realloc(p->items, cap * sizeof(*n));
    if (!n) {
      p->dropped++;
      return;
    }
    p->items = n;
    p->cap = cap;
  }
  gw_problem *x = &p->items[p->n++];
  snprintf(x->code, sizeof(x->code), "%s", code);
  x->severity = severity;
  x->line = line;
  snprintf(x->path, sizeof(x->path), "%s", path ? path : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->message, sizeof(x->message), fmt, ap);
  va_end(ap);
  /* libxml2 messages end in a newline; the JSON answer should not. */
  size_t l = strlen(x->message);
  while (l && (x->message[l - 1] == '\n' || x->message[l - 1] == ' ')) x->message[--l] = 0;
}

void gw_problems_free(gw_problems *p) {
  free(p->items);
  memset(p, 0, sizeof(*p));
}

char *gw_problems_json(const gw_problems *p, const char *id) {
  json_t *root = json_object(), *arr = json_array();
  if (!root || !arr) {
    json_decref(root);
    json_decref(arr);
    return NULL;
  }
  if (id) json_object_set_new(root, "id", json_string(id));
  for (size_t i = 0; i < p->n; i++) {
    const gw_problem *x = &p->items[i];
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(x->code));
    json_object_set_new(o, "severity", json_string(x->severity));
    if (x->line > 0) json_object_set_new(o, "line", json_integer(x->line));
    else json_object_set_new(o, "line", json_null());
    json_object_set_new(o, "path", *x->path ? json_string(x->path) : json_null());
    /* Messages from libxml2 echo document text, which may be invalid UTF-8. */
    json_t *m = json_string(x->message);
    json_object_set_new(o, "message", m ? m : json_string("(message not valid UTF-8)"));
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "errors", arr);
  if (p->dropped) json_object_set_new(root, "more", json_integer((json_int_t)p->dropped));
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}
