/* lmcgw — the gateway's side of shipment status: turning what happened to a
 * message into status events for <prefix>.status, and keeping the local
 * status store (SQLite, state_dir/status.db) up to date from that topic, so
 * every instance answers every query and a deleted store is rebuilt from the
 * topic at the next start.
 *
 * Threads: events are made on any thread (gw_feed_event is pure). The store
 * is written by the tail thread only; queries run on worker threads through
 * one reader connection under a mutex (WAL lets it read while the writer
 * writes).
 *
 * Ownership: gw_feed_start returns a handle released by gw_feed_stop. */
#ifndef GW_SERVE_STATUS_FEED_H
#define GW_SERVE_STATUS_FEED_H

#include <stddef.h>
#include <time.h>

#include "access/access.h"
#include "config/config.h"
#include "core/error.h"
#include "pipeline/process.h"
#include "status/event.h"
#include "status/store.h"

typedef struct gw_feed gw_feed;

/* bootstrap: the mock cluster's address, or NULL for kafka.bootstrap.servers. */
int gw_feed_start(const gw_config *cfg, const char *bootstrap, gw_feed **out, gw_error *err);
void gw_feed_stop(gw_feed *f);

/* 1 once the store has read the status topic to the end it had at start. */
int gw_feed_caught_up(const gw_feed *f);

/* A status event about a processed message (in and out as gw_process left
 * them; out may be NULL for events known only by id, like deliveries).
 * Returns the record key ("<UCR>|<message id>|<stage>") and JSON value,
 * malloc'd; 0, or GW_ENOMEM. */
typedef struct gw_feed_record {
  char *key, *value;
} gw_feed_record;
int gw_feed_event(const gw_config *cfg, gw_status_stage stage, const gw_submission *in, const gw_processed *out,
                  const char *detail, gw_feed_record *rec);
/* The same for an event known by message id, UCR and document type only
 * (delivery outcomes). */
int gw_feed_event_by_id(const gw_config *cfg, gw_status_stage stage, const char *message_id, const char *ucr,
                        const char *document_type, const char *detail, gw_feed_record *rec);
void gw_feed_record_free(gw_feed_record *rec);

/* Queries with the reader's permissions (gw_access_may_read): 0 with the
 * answer in *json (malloc'd), or an HTTP status (401, 403, 404, 500) with
 * *json an error body in the API's shape. */
int gw_feed_message(gw_feed *f, const gw_identity *id, gw_role role, const char *message_id, char **json);
int gw_feed_shipment(gw_feed *f, const gw_identity *id, gw_role role, const char *ucr, char **json);
/* query: the URL's query string (country, status, since, perishable, limit, cursor). */
int gw_feed_list(gw_feed *f, const gw_identity *id, gw_role role, const char *query, char **json);

#endif
