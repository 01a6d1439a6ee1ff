/* lmcgw — the durable hand-off to Kafka: an idempotent producer (acks=all)
 * whose delivery reports reach the libuv loop through librdkafka's queue I/O
 * event and a uv_poll on a pipe, never by busy polling.
 *
 * Threading: gw_kafka_produce may be called from any thread (worker threads
 * produce right after signing). Delivery callbacks run on the loop thread.
 * Ownership: the producer is created by gw_kafka_producer_start and released
 * by gw_kafka_producer_close, which flushes first. */
#ifndef GW_KAFKA_PRODUCER_H
#define GW_KAFKA_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/error.h"

typedef struct gw_kafka_producer gw_kafka_producer;

/* Called on the loop thread once per produced message with the opaque given
 * to gw_kafka_produce. err is 0 when the broker has the message, GW_ETOOBIG
 * when it is larger than the broker takes, GW_EKAFKA otherwise; errstr
 * says why. persisted_maybe tells that a failed message may still have landed
 * (the client gets 503 and may retry; receivers deduplicate by message id). */
typedef void (*gw_kafka_on_delivery)(void *opaque, int err, const char *errstr, int persisted_maybe,
                                     int32_t partition, int64_t offset);

typedef struct gw_kafka_header {
  const char *name;
  const char *value;
} gw_kafka_header;

/* A second producer (the priority lane's) has queues and a broker connection
 * of its own, so its messages never wait behind another's backlog. */
typedef struct gw_kafka_producer_options {
  const char *role;      /* added to client.id ("<instance>-<role>"); NULL: none */
  const char *bootstrap; /* instead of kafka.bootstrap.servers: the first producer's mock cluster; NULL: config */
  int linger_ms;         /* instead of kafka.linger.ms; -1: the configuration's (default 2) */
} gw_kafka_producer_options;

/* opt may be NULL: the configuration as it is. */
int gw_kafka_producer_start(uv_loop_t *loop, const gw_config *cfg, const gw_kafka_producer_options *opt,
                            gw_kafka_on_delivery on_delivery, gw_kafka_producer **out, gw_error *err);

/* Queues one message; value and key are copied. Returns 0 when queued (the
 * delivery callback will follow), GW_ETOOBIG when it is over the producer's
 * message.max.bytes, GW_EKAFKA when librdkafka refused at once otherwise
 * (queue full, unknown topic...) — then no callback follows. */
int gw_kafka_produce(gw_kafka_producer *p, const char *topic, const char *key, size_t key_len,
                     const void *value, size_t value_len, const gw_kafka_header *headers, size_t n_headers,
                     void *opaque, gw_error *err);

/* Creates topic name when it does not exist (Admin API, waits up to
 * timeout_ms): partitions, replication factor -1 (the broker's default), and
 * cleanup.policy=compact when compact is set. An existing topic is fine
 * (its settings are left alone; 0 is returned). For start-up, before the
 * loop runs. */
int gw_kafka_create_topic(gw_kafka_producer *p, const char *name, int partitions, int compact, int timeout_ms,
                          gw_error *err);

/* Like gw_kafka_produce, fire-and-forget (no delivery callback), for records
 * whose key is "<partition key>|<rest>": the partition is chosen from the
 * part before the first '|' alone (murmur2, as Kafka's default partitioner),
 * so records about one consignment stay in one partition, in order, while
 * their keys differ (a compacted topic then keeps every one). */
int gw_kafka_produce_grouped(gw_kafka_producer *p, const char *topic, const char *key, size_t key_len,
                             const void *value, size_t value_len, gw_error *err);

/* The bootstrap address of the in-process mock cluster (gateway.mock_kafka),
 * for the gateway's own consumers; NULL with a real cluster. Static while
 * the producer lives. */
const char *gw_kafka_mock_bootstrap(gw_kafka_producer *p);

/* Messages produced and not yet acknowledged or failed. */
size_t gw_kafka_inflight(gw_kafka_producer *p);
/* 1 when a metadata request answered within the last check (every 2 s). */
int gw_kafka_ready(gw_kafka_producer *p);

/* Waits up to timeout_ms for outstanding messages (their callbacks run), then
 * stops the poll handle and destroys the producer. Runs the loop itself while
 * flushing, so call it from the loop thread outside callbacks, or after the
 * loop has stopped. */
void gw_kafka_producer_close(gw_kafka_producer *p, int timeout_ms);

#endif
