/* lmcgw — the status store: what every message went through and what each
 * shipment still lacks, derived from the status events of the
 * <prefix>.status topic and kept in SQLite (a cache of the topic: reset it and
 * consume the topic from the start to rebuild it).
 *
 * Derivation (issue 5 contract, status-api.md):
 *  - a message's state folds its events ordered by (at, stage, event_id), so
 *    the order in which events are applied never changes an answer;
 *  - a document is (type, number), or the message alone when it has no
 *    number; its latest message counts (valid: VALIDATED seen and not
 *    REJECTED; signed: SIGNED seen);
 *  - the documents of shipment U: the messages with UCR U, plus the SPS
 *    certificates (cites 851/852/853) and certificates of origin (861) whose
 *    number U's declaration cites, whatever their UCR;
 *  - required: the declaration; an SPS certificate when an item's HS
 *    chapter is 01–05, 16 or 06–14 (the cited ones when the declaration cites
 *    some); each cited certificate of origin;
 *  - status: latest customs decision, else REJECTED (declaration's latest
 *    message rejected), else READY_FOR_CLEARANCE (nothing missing), else
 *    IN_PROGRESS. Shipment summaries (status, counts) are materialised when a
 *    transaction commits, so the list can filter and page on them.
 *
 * Threads: a store handle is used by one thread at a time (no locking
 * inside). Open the same file once per thread instead: WAL lets one writer
 * (the status consumer) and readers (HTTP queries) work at once; a reader
 * sees the state of the last committed transaction.
 *
 * Ownership: gw_status_store_open returns a handle closed with
 * gw_status_store_close; every char **json out-parameter receives a malloc'd
 * NUL-terminated string the caller frees. */
#ifndef GW_STATUS_STORE_H
#define GW_STATUS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "status/event.h"

typedef struct gw_status_store gw_status_store;

/* Opens (creating when needed) the store at path, or a private in-memory one
 * for ":memory:". WAL journal, busy timeout of 5 s so a writer and readers on
 * the same file wait for each other instead of failing. A store written by an
 * older schema is emptied (offsets included, so the consumer rebuilds it from
 * the topic); one written by a newer lmcgw is refused (GW_ECONFIG). */
int gw_status_store_open(gw_status_store **out, const char *path, gw_error *err);
/* Rolls back a transaction left open. NULL is fine. */
void gw_status_store_close(gw_status_store *s);

/* Applies one event. Idempotent by event_id (a second copy changes nothing,
 * even if its other fields differ). Outside gw_status_store_begin it is its
 * own transaction; inside, it joins the open one and summaries are brought up
 * to date at gw_status_store_commit. */
int gw_status_store_apply(gw_status_store *s, const gw_status_event *ev, gw_error *err);

/* Explicit transactions, for applying a poll's worth of events and the
 * consumer's offsets at once. begin fails (GW_EINVAL) when one is open; on a
 * failed commit everything since begin is rolled back. */
int gw_status_store_begin(gw_status_store *s, gw_error *err);
int gw_status_store_commit(gw_status_store *s, gw_error *err);
void gw_status_store_rollback(gw_status_store *s);

/* begin; apply each of evs; when topic is non-NULL, offset_set(topic,
 * partition, next_offset); commit. All or nothing. */
int gw_status_store_apply_batch(gw_status_store *s, const gw_status_event *evs, size_t n, const char *topic,
                                int32_t partition, int64_t next_offset, gw_error *err);

/* Kafka bookkeeping: the next offset to consume on (topic, partition), i.e.
 * the offset of the last applied record + 1. get gives -1 when none is
 * stored. set joins an open transaction (so the events applied and the offset
 * commit together) or is its own. */
int gw_status_store_offset_get(gw_status_store *s, const char *topic, int32_t partition, int64_t *offset,
                               gw_error *err);
int gw_status_store_offset_set(gw_status_store *s, const char *topic, int32_t partition, int64_t offset,
                               gw_error *err);

/* Empties everything, offsets included (before rebuilding from the topic).
 * Not inside an explicit transaction. */
int gw_status_store_reset(gw_status_store *s, gw_error *err);

/* GET /v1/messages/{id}: {"id","ucr",...,"status","events":[...]}, events by
 * time. GW_ENOTFOUND when no event of that message was applied. */
int gw_status_store_message(gw_status_store *s, const char *id, char **json, gw_error *err);

/* GET /v1/shipments/{ucr}: the contract's shipment object; elapsed_s is
 * now - first_seen. GW_ENOTFOUND when no message carries that UCR. */
int gw_status_store_shipment(gw_status_store *s, const char *ucr, time_t now, char **json, gw_error *err);

typedef enum gw_status_scope {
  GW_STATUS_SCOPE_ADMIN = 0, /* every shipment */
  GW_STATUS_SCOPE_COUNTRY,   /* origin or destination is scope_value ("TH") */
  GW_STATUS_SCOPE_SUBMITTER, /* a document was submitted by scope_value ("TH/Siam Trade Portal") */
} gw_status_scope;

/* Query parameters of GET /v1/shipments as received (NULL or "" = absent),
 * plus the reader's scope. Borrowed. */
typedef struct gw_status_filter {
  const char *country;  /* origin or destination */
  const char *status;   /* one of the shipment statuses */
  const char *since;    /* RFC 3339: last_update at or after */
  int perishable;       /* -1 any, 0, 1 */
  int limit;            /* <= 0: 50; capped at 500 */
  const char *cursor;   /* "next" of the previous page */
  gw_status_scope scope;
  const char *scope_value;
} gw_status_filter;

/* GET /v1/shipments: {"shipments":[...],"next":"cursor"|null}, newest
 * last_update first (ties by UCR). GW_EINVAL with the reason for a bad
 * status, since or cursor (answer 400). */
int gw_status_store_list(gw_status_store *s, const gw_status_filter *f, char **json, gw_error *err);

/* What an access decision needs (gw_access_may_read in access/access.h takes
 * {origin, destination, (const char *const *)submitters, n_submitters}).
 * Strings are malloc'd and freed by gw_status_target_free; origin and
 * destination are "" when unknown. */
typedef struct gw_status_target {
  char *origin, *destination;
  char **submitters; /* "C/O" of each distinct submitter of a document of the shipment */
  size_t n_submitters;
} gw_status_target;

/* Of the shipment ucr. GW_ENOTFOUND when unknown. */
int gw_status_store_read_target(gw_status_store *s, const char *ucr, gw_status_target *out, gw_error *err);
/* Of one message: its own origin/destination (the shipment's when it has
 * none) and its submitter plus those of its shipment, so whoever may read a
 * shipment may read the messages it lists. GW_ENOTFOUND when unknown. */
int gw_status_store_message_target(gw_status_store *s, const char *id, gw_status_target *out, gw_error *err);
void gw_status_target_free(gw_status_target *t);

#endif
