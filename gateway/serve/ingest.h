/* lmcgw — Kafka ingest: national systems publish to <prefix>.in; the
 * gateways of one country consume it as one consumer group and put each
 * record through the same pipeline as an HTTP submission.
 *
 * Exactly once: per batch of records, one Kafka transaction holds the routed
 * messages, the dead letters, the results (<prefix>.in.results, keyed by
 * message id: what the HTTP client would have been answered) and the status
 * events, together with the consumed offsets (consume-transform-produce). A
 * crash before the commit leaves nothing visible to read_committed readers
 * and the records are read again; after it, they are never read again.
 *
 * Identity: what a national system publishes on the topic is its country's
 * customs system (Kafka's own ACLs say who may write there); the record's
 * lmcgw-sender-org header, when present, names the organisation.
 *
 * Ownership: gw_ingest_start returns a handle the caller stops with
 * gw_ingest_stop (joins the thread, aborts an open transaction). The
 * pipeline and config are borrowed and must outlive it. */
#ifndef GW_SERVE_INGEST_H
#define GW_SERVE_INGEST_H

#include <librdkafka/rdkafka.h>

#include "config/config.h"
#include "core/error.h"
#include "pipeline/process.h"

typedef struct gw_ingest gw_ingest;

/* Called inside the open transaction for every record processed, to add the
 * status events (produce them with rk; they commit or abort with the rest). */
typedef void (*gw_ingest_on_processed)(void *ud, rd_kafka_t *rk, const gw_submission *in, const gw_processed *out);

typedef struct gw_ingest_options {
  const char *bootstrap;              /* overrides kafka.bootstrap.servers (mock cluster), or NULL */
  gw_ingest_on_processed on_processed; /* may be NULL */
  void *ud;
} gw_ingest_options;

/* The topic ingest consumes: ingest.topic, or <prefix>.in when that is empty.
 * Also for whoever creates the topic before ingest starts. */
void gw_ingest_topic(const gw_config *cfg, char *out, size_t cap);

int gw_ingest_start(const gw_config *cfg, const gw_pipeline *pipe, const gw_ingest_options *opt, gw_ingest **out,
                    gw_error *err);
void gw_ingest_stop(gw_ingest *g);

/* Records processed and committed so far (for tests and metrics). */
unsigned long long gw_ingest_committed(const gw_ingest *g);

#endif
