/* lmcgw — `lmcgw serve`: wires the HTTP server, the XML pipeline, the signer
 * and the Kafka producer onto one libuv loop and runs until SIGTERM/SIGINT.
 *
 * Request path: the loop thread reads the request; parse, validate and sign
 * run on the libuv thread pool, which also hands the signed document to the
 * producer; the delivery report comes back to the loop through librdkafka's
 * queue I/O event, and only then does the client get 202. */
#ifndef GW_SERVE_SERVE_H
#define GW_SERVE_SERVE_H

#include "config/config.h"
#include "core/error.h"

typedef struct gw_serve_options {
  const char *listen;   /* overrides http.listen when not NULL */
  /* Called on the loop thread once the listener is up, with the bound port
   * (tests and the dev demo use it). May be NULL. */
  void (*on_listening)(int port, void *ud);
  void *ud;
} gw_serve_options;

/* Runs the gateway with cfg (borrowed for the whole run). Returns 0 after a
 * graceful shutdown, GW_ECANCELED when a second signal cut it short (the
 * caller should then leave at once without cleaning up), or a start-up error. */
int gw_serve_run(gw_config *cfg, const gw_serve_options *opt, gw_error *err);

#endif
