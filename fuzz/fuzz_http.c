/* lmcgw — libFuzzer target for the HTTP/1.1 request path (gateway/http):
 * llhttp callbacks, header/URL/body assembly, limits (413/431), pipelining,
 * error answers and response building, on a connection without a socket. */
#include <stddef.h>
#include <stdint.h>

#include "http/http_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_http__fuzz_feed(data, size);
  return 0;
}
