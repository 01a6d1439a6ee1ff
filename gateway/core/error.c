#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void gw_error_clear(gw_error *err) {
  if (err) memset(err, 0, sizeof(*err));
}

int gw_error_set(gw_error *err, int code, const char *file, int src_line,
                 const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  err->file = file;
  err->src_line = src_line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  return code;
}

const char *gw_strerror(int code) {
  switch (code) {
  case GW_OK: return "ok";
  case GW_EINVAL: return "invalid";
  case GW_ENOMEM: return "no_memory";
  case GW_EIO: return "io";
  case GW_ECONFIG: return "config";
  case GW_EPARSE: return "not_well_formed";
  case GW_ESCHEMA: return "schema_invalid";
  case GW_ETOOBIG: return "too_large";
  case GW_EKAFKA: return "kafka";
  case GW_ETLS: return "tls";
  case GW_ECRYPTO: return "crypto";
  case GW_ENOTFOUND: return "not_found";
  case GW_EUNSUPPORTED: return "unsupported";
  case GW_ECANCELED: return "canceled";
  default: return "unknown";
  }
}
