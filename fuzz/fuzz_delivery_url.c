/* libFuzzer target: the delivery endpoint URL parser (gateway/delivery/client.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  char *s = malloc(size);
  if (!s) return 0;
  /* First byte: allow http://; the rest: the URL. */
  memcpy(s, data + 1, size - 1);
  s[size - 1] = 0;
  gw_delivery_url u;
  gw_error err = {0};
  if (gw_delivery_url_parse(s, data[0] & 1, &u, &err) == 0) {
    /* What parses is usable as it is. */
    if (!u.host[0] || !u.port[0] || u.path[0] != '/') abort();
  }
  free(s);
  return 0;
}
