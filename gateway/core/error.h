/* lmcgw — error reporting shared by every module.
 *
 * Functions that can fail return 0 (or a non-NULL pointer) on success and a
 * negative GW_E* code (or NULL) on failure, and fill the caller's gw_error when
 * one is passed. There is no global error state: the gw_error is owned by the
 * caller, usually on its stack, and never holds heap memory. */
#ifndef GW_CORE_ERROR_H
#define GW_CORE_ERROR_H

#include <stddef.h>

enum {
  GW_OK = 0,
  GW_EINVAL = -1,   /* bad argument or bad input (see message) */
  GW_ENOMEM = -2,
  GW_EIO = -3,      /* file or socket I/O */
  GW_ECONFIG = -4,  /* configuration problem */
  GW_EPARSE = -5,   /* input not well-formed */
  GW_ESCHEMA = -6,  /* input well-formed but invalid */
  GW_ETOOBIG = -7,  /* input over a configured limit */
  GW_EKAFKA = -8,   /* Kafka refused or timed out */
  GW_ETLS = -9,     /* TLS / certificate problem */
  GW_ECRYPTO = -10, /* signing or key handling */
  GW_ENOTFOUND = -11,
  GW_EUNSUPPORTED = -12,
  GW_ECANCELED = -13, /* stopped on request (second signal) */
};

typedef struct gw_error {
  int code;            /* one of GW_E*, 0 when no error was recorded */
  const char *file;    /* source location that raised it (static string) */
  int src_line;
  long line;           /* line in the input the error is about, 0 when n/a */
  char path[256];      /* config key, XPath or similar, "" when n/a */
  char msg[512];
} gw_error;

void gw_error_clear(gw_error *err);

/* Records code and message in err (err may be NULL) and returns code, so a
 * caller can write `return GW_ERR(err, GW_EINVAL, "...")`. */
int gw_error_set(gw_error *err, int code, const char *file, int src_line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define GW_ERR(err, code, ...) gw_error_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Short stable name for a code ("config", "parse"...), for logs and JSON. */
const char *gw_strerror(int code);

#endif
