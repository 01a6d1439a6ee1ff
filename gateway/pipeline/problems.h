/* lmcgw — the machine-readable list of what is wrong with a message, as sent
 * back in {"errors":[{code, severity, line, path, message}]}.
 * Ownership: a gw_problems is owned by its caller; gw_problems_free releases
 * the items. Bounded: past GW_PROBLEMS_MAX further problems are only counted. */
#ifndef GW_PIPELINE_PROBLEMS_H
#define GW_PIPELINE_PROBLEMS_H

#include <stddef.h>

#define GW_PROBLEMS_MAX 100

typedef struct gw_problem {
  char code[40];       /* stable, e.g. "not_well_formed", "schema_invalid" */
  const char *severity; /* "error", "warning", "info" (static) */
  long line;           /* 0 when not about a line */
  char path[256];      /* XPath-like location, "" when unknown */
  char message[512];
} gw_problem;

typedef struct gw_problems {
  gw_problem *items;
  size_t n, cap;
  size_t dropped;      /* problems past GW_PROBLEMS_MAX */
} gw_problems;

void gw_problems_add(gw_problems *p, const char *code, const char *severity, long line,
                     const char *path, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void gw_problems_free(gw_problems *p);

/* {"id":..., "errors":[...]} (id omitted when NULL; "more" when some were
 * dropped); returns a malloc'd
 * string the caller frees, NULL on allocation failure. */
char *gw_problems_json(const gw_problems *p, const char *id);

#endif
