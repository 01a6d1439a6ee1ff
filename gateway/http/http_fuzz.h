/* lmcgw — the HTTP parser's fuzzing entry (private to gateway/http and fuzz/).
 *
 * Ownership: data is borrowed for the call; everything the call allocates is
 * freed before it returns. */
#ifndef GW_HTTP_HTTP_FUZZ_H
#define GW_HTTP_HTTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs the request parsing and answering path of a connection without a
 * socket over data, split into reads at sizes drawn from data itself, with a
 * handler that answers synchronously; ends with the client's EOF. Never fails. */
void gw_http__fuzz_feed(const uint8_t *data, size_t len);

#endif
