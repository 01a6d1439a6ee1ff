/* lmcgw — JSON written straight into a growing buffer, for the records made
 * per message (status events, the 202's body), where building jansson
 * objects (a hash table each) only to dump them cost more than the writing.
 * The form is jansson's compact one: '/' and UTF-8 as they are, control
 * characters escaped. Parsing stays with jansson.
 *
 * Ownership: a gw_jw starts zeroed; gw_jw_finish hands over the malloc'd,
 * NUL-terminated text (NULL if memory ran out on the way, the buffer then
 * freed). Writes after a failed allocation do nothing. */
#ifndef GW_CORE_JSONW_H
#define GW_CORE_JSONW_H

#include <stddef.h>

typedef struct gw_jw {
  char *p;
  size_t n, cap;
  int oom;
} gw_jw;

/* Bytes as they are (JSON the caller made). */
void gw_jw_raw(gw_jw *w, const char *s, size_t n);
#define GW_JW_LIT(w, lit) gw_jw_raw((w), lit, sizeof(lit) - 1)
/* A JSON string; NULL writes "". Bytes that are not UTF-8 become U+FFFD
 * (jansson would refuse the whole string). */
void gw_jw_str(gw_jw *w, const char *s);
/* "key": after a comma unless the object was just opened. */
void gw_jw_key(gw_jw *w, const char *k);
void gw_jw_kstr(gw_jw *w, const char *k, const char *v);
/* "key":["v0","v1",...] */
void gw_jw_kstrs(gw_jw *w, const char *k, char *const *v, size_t n);
char *gw_jw_finish(gw_jw *w);

#endif
