/* lmcgw — reading one topic from where a local store left off: every
 * partition assigned directly (no consumer group, no rebalance, no commit),
 * records handed over in batches on a thread of its own. Used to keep the
 * status store up to date from <prefix>.status; each instance reads the whole
 * topic, which is what lets every instance answer every query.
 *
 * Ownership: gw_kafka_tail_start returns a handle freed by gw_kafka_tail_stop,
 * which joins the thread. The callbacks run on that thread. */
#ifndef GW_KAFKA_TAIL_H
#define GW_KAFKA_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/error.h"

typedef struct gw_kafka_record {
  int32_t partition;
  int64_t offset;
  const char *key;
  size_t key_len;
  const char *value; /* borrowed for the duration of the callback */
  size_t value_len;
} gw_kafka_record;

typedef struct gw_kafka_tail_callbacks {
  /* The next offset to read in partition, or -1 to start at the beginning.
   * Called when a partition is first seen. */
  int64_t (*start_offset)(void *ud, int32_t partition);
  /* A batch of records, in order within each partition. A non-zero return
   * stops the tail (the batch is read again after a restart). */
  int (*on_batch)(void *ud, const gw_kafka_record *recs, size_t n);
  /* Optional: called once every partition known at start has been read to
   * its end (the store has caught up), then never again. */
  void (*on_caught_up)(void *ud);
  void *ud;
} gw_kafka_tail_callbacks;

typedef struct gw_kafka_tail gw_kafka_tail;

/* bootstrap: overrides kafka.bootstrap.servers (the mock cluster's address);
 * NULL to use the config. */
int gw_kafka_tail_start(const gw_config *cfg, const char *bootstrap, const char *topic,
                        const gw_kafka_tail_callbacks *cb, gw_kafka_tail **out, gw_error *err);
void gw_kafka_tail_stop(gw_kafka_tail *t);

#endif
