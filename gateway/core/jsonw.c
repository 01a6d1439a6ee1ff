#include "core/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_jw_raw(gw_jw *w, const char *s, size_t n) {
  if (w->oom) return;
  if (w->n + n + 1 > w->cap) {
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->n + n + 1) cap *= 2;
    char *p = realloc(w->p, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->p = p, w->cap = cap;
  }
  memcpy(w->p + w->n, s, n);
  w->n += n;
  w->p[w->n] = 0;
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 when it is not one
 * (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
      (c == 0xF4 && s[1] > 0x8F))
    return 0;
  return n;
}

void gw_jw_str(gw_jw *w, const char *str) {
  const unsigned char *s = (const unsigned char *)(str ? str : "");
  GW_JW_LIT(w, "\"");
  while (*s) {
    const unsigned char *run = s;
    while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') s++;
    gw_jw_raw(w, (const char *)run, (size_t)(s - run));
    if (!*s) break;
    char esc[8];
    switch (*s) {
      case '"': GW_JW_LIT(w, "\\\""); break;
      case '\\': GW_JW_LIT(w, "\\\\"); break;
      case '\b': GW_JW_LIT(w, "\\b"); break;
      case '\f': GW_JW_LIT(w, "\\f"); break;
      case '\n': GW_JW_LIT(w, "\\n"); break;
      case '\r': GW_JW_LIT(w, "\\r"); break;
      case '\t': GW_JW_LIT(w, "\\t"); break;
      default:
        if (*s < 0x20) {
          snprintf(esc, sizeof(esc), "\\u%04X", *s);
          gw_jw_raw(w, esc, 6);
        } else {
          size_t n = utf8_len(s);
          if (n) {
            gw_jw_raw(w, (const char *)s, n);
            s += n;
            continue;
          }
          GW_JW_LIT(w, "\xEF\xBF\xBD");
        }
    }
    s++;
  }
  GW_JW_LIT(w, "\"");
}

void gw_jw_key(gw_jw *w, const char *k) {
  if (w->n && w->p[w->n - 1] != '{') GW_JW_LIT(w, ",");
  gw_jw_str(w, k);
  GW_JW_LIT(w, ":");
}

void gw_jw_kstr(gw_jw *w, const char *k, const char *v) {
  gw_jw_key(w, k);
  gw_jw_str(w, v);
}

void gw_jw_kstrs(gw_jw *w, const char *k, char *const *v, size_t n) {
  gw_jw_key(w, k);
  GW_JW_LIT(w, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) GW_JW_LIT(w, ",");
    gw_jw_str(w, v[i]);
  }
  GW_JW_LIT(w, "]");
}

char *gw_jw_finish(gw_jw *w) {
  if (!w->oom) return w->p;
  free(w->p);
  return NULL;
}
