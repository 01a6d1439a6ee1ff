/* lmcgw — counters and latency histograms for /metrics (Prometheus text
 * format, names prefixed lmcgw_). Lock-free: any thread records with relaxed
 * atomics; the loop thread renders. One process-wide instance. */
#ifndef GW_METRICS_METRICS_H
#define GW_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum gw_stage {
  GW_STAGE_QUEUE,     /* waiting for a worker thread */
  GW_STAGE_PARSE,
  GW_STAGE_VALIDATE,
  GW_STAGE_SIGN,
  GW_STAGE_SERIALIZE,
  GW_STAGE_KAFKA_ACK, /* produce to delivery report */
  GW_STAGE_TOTAL,     /* request complete to answer */
  GW_STAGE_LOOP,      /* the event loop busy between two polls: how long any connection may wait on it */
  GW_STAGE_COUNT
};

enum gw_outcome {
  GW_OUT_ACCEPTED,
  GW_OUT_NOT_WELL_FORMED,
  GW_OUT_INVALID,
  GW_OUT_UNSUPPORTED_MEDIA,
  GW_OUT_TOO_LARGE,
  GW_OUT_UNAVAILABLE,
  GW_OUT_INTERNAL,
  GW_OUT_COUNT
};

/* Delivery worker counters (gateway/delivery). */
enum gw_delivery_counter {
  GW_DEL_ATTEMPTS,       /* HTTP requests made to the national endpoint */
  GW_DEL_DELIVERED,      /* records the endpoint accepted (2xx) */
  GW_DEL_DEAD_LETTERED,  /* records sent to the dead-letter topic */
  GW_DEL_BREAKER_OPENED, /* times the circuit breaker opened */
  GW_DEL_COUNT
};

void gw_metrics_stage(enum gw_stage stage, uint64_t ns);
/* The longest time the stage took since start (also recorded by gw_metrics_stage). */
uint64_t gw_metrics_stage_max(enum gw_stage stage);
void gw_metrics_delivery(enum gw_delivery_counter c);
uint64_t gw_metrics_delivery_count(enum gw_delivery_counter c);
void gw_metrics_outcome(enum gw_outcome o);
void gw_metrics_queue_depth_add(int delta);
long gw_metrics_queue_depth(void);

/* Renders every metric; gauges and HTTP counters that live elsewhere are
 * passed in. Returns a malloc'd string (caller frees) and its length. */
typedef struct gw_metrics_extra {
  const uint64_t *http_by_status; /* 600 entries, may be NULL */
  size_t http_connections;
  size_t kafka_inflight;
  int kafka_ready;
} gw_metrics_extra;
char *gw_metrics_render(const gw_metrics_extra *x, size_t *len);

#endif
