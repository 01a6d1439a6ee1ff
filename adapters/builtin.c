/* lmcgw — the adapters compiled into the binary. Each is defined in its own
 * folder (adapters/<name>/); CMake lists the folders in builtin_list.h. */
#include <stddef.h>

#include "builtin.h"

#define X(sym) extern const gw_adapter sym;
#include "builtin_list.h"
#undef X

size_t gw_builtin_adapters(const gw_adapter **out, size_t max) {
  static const gw_adapter *const all[] = {
#define X(sym) &sym,
#include "builtin_list.h"
#undef X
      NULL};
  size_t n = 0;
  for (size_t i = 0; all[i] && n < max; i++) out[n++] = all[i];
  return n;
}
