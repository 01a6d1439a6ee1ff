/* lmcgw — the delivery worker: what arrives for this participant's country X
 * on `<prefix>.X.<doctype>` (and `<prefix>.X.<doctype>.priority`) is POSTed
 * to X's national system endpoint over mutual TLS, one record at a time per
 * worker in partition order.
 *
 * Guarantees: an offset is committed (synchronously) only after the endpoint
 * answered 2xx, or after the record is safely in `<prefix>.dlq` (acks=all,
 * idempotent producer, flushed). A record may therefore reach the endpoint
 * more than once (a crash between answer and commit, a rebalance, a stop in
 * the middle of an attempt); X-Message-Id lets receivers deduplicate.
 *
 * Policy: 2xx delivered; 408, 429, 5xx, network and TLS errors and timeouts
 * are retried with exponential backoff and full jitter (retry_initial_ms ..
 * retry_max_ms; a Retry-After within retry_max_ms is honoured as a floor)
 * until deadline_s after the first attempt, then dead-lettered
 * (delivery_failed). Any other status (1xx and 3xx included: the endpoint is
 * configured, not discovered) is permanent: dead-lettered at once
 * (delivery_refused). A circuit breaker per endpoint (shared by the workers)
 * opens after breaker_failures consecutive retriable failures; while open no
 * request is made; after breaker_open_ms one trial request decides.
 * While a record is retried the worker's partitions are paused and the
 * consumer keeps polling, so the group does not evict it.
 *
 * Threading: gw_delivery_start starts `workers` threads, each with its own
 * consumer in group `<prefix>.delivery.<X>`; on_status is called from those
 * threads. Ownership: gw_delivery_start copies everything it needs from the
 * config; gw_delivery_stop stops, joins and frees. */
#ifndef GW_DELIVERY_DELIVERY_H
#define GW_DELIVERY_DELIVERY_H

#include <stddef.h>

#include "config/config.h"
#include "core/error.h"

/* stage: "DELIVERED" or "DELIVERY_FAILED" (on the first failed attempt of a
 * record, and again when it is dead-lettered; not on every retry). detail is
 * free text for the status event: the endpoint's answer, attempts, the error.
 * Any of message_id, ucr, document_type may be "" when the record lacked it.
 * Called from a worker thread; must not block for long. */
typedef void (*gw_delivery_on_status)(void *ud, const char *stage, const char *message_id, const char *ucr,
                                      const char *document_type, const char *detail);

typedef struct gw_delivery_config {
  int enabled;                 /* resolved: delivery.enabled, or "auto" = the country has an endpoint */
  const char *country;         /* X */
  const char *topic_prefix;
  const char *instance_id;     /* Kafka client.id prefix */
  const char *endpoint;        /* countries.X.endpoint */
  int allow_http;
  const char *ca, *cert, *key; /* cert/key: delivery.* or else tls.* */
  unsigned timeout_ms, retry_initial_ms, retry_max_ms, deadline_s;
  unsigned breaker_failures, breaker_open_ms, workers;
  unsigned max_poll_interval_ms; /* what the consumer is given; from gw_delivery_max_poll_ms() */
  const gw_kv *kafka;          /* kafka.* passed through (security settings, bootstrap.servers) */
  size_t n_kafka;
  const char *bootstrap;       /* overrides bootstrap.servers, e.g. the dev mock cluster; NULL: none */
  gw_delivery_on_status on_status; /* may be NULL */
  void *ud;
  /* 0: every destination topic; 1: only the priority lane (<...>.priority),
   * in a consumer group of its own (<prefix>.delivery.<X>.priority); 2: only
   * the others. serve runs a lane-1 and a lane-2 worker, so a perishable
   * consignment never waits behind a backlog of bulk ones. */
  int lane;
} gw_delivery_config;

/* Fills out from a loaded configuration. Strings are borrowed from cfg, which
 * must outlive gw_delivery_start (it copies them). on_status, ud and
 * bootstrap are left NULL for the caller. Returns 0 also when delivery is
 * disabled (out->enabled == 0); GW_ECONFIG when it is enabled but cannot
 * work (no endpoint), with err saying why. */
int gw_delivery_config_from(const gw_config *cfg, gw_delivery_config *out, gw_error *err);

/* The max.poll.interval.ms the consumers get: well above the longest time
 * between two polls (one attempt, or one dead-letter flush). */
unsigned gw_delivery_max_poll_ms(unsigned timeout_ms, unsigned retry_max_ms);
/* The longest the dead-letter producer may take per try (message.timeout.ms). */
#define GW_DELIVERY_DLQ_TIMEOUT_MS 30000u

/* Builds the subscription regex for prefix and country: the prefix escaped,
 * `^<prefix>\.<X>\.[a-z][a-z0-9_]*(\.priority)?$`. Returns a malloc'ed string. */
char *gw_delivery_topic_regex(const char *prefix, const char *country);

/* 1 when topic is a destination topic of country (`<prefix>.<X>.<doctype>`
 * or `...<doctype>.priority`, doctype not one of the reserved in, dlq,
 * status); then doctype (cap bytes) receives the document type. */
int gw_delivery_topic_match(const char *prefix, const char *country, const char *topic, char *doctype, size_t cap);

typedef struct gw_delivery gw_delivery;

/* Starts the workers. Fails (nothing started) on a bad endpoint URL,
 * unreadable certificates or a Kafka configuration librdkafka refuses. */
int gw_delivery_start(const gw_delivery_config *cfg, gw_delivery **out, gw_error *err);

/* Stops promptly: an attempt in progress is abandoned (its record stays
 * uncommitted and is delivered again by the next consumer of the group),
 * consumers are closed without committing anything else, threads joined,
 * everything freed. NULL is a no-op. */
void gw_delivery_stop(gw_delivery *d);

#endif
