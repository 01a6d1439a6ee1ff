/* lmcgw — the order in which submitted messages get a worker thread.
 *
 * At most `workers` messages are in the thread pool at once; the others wait
 * here in four queues: perishable goods before the rest, and large messages
 * (certificates with attachments) never on every worker at once, so a small
 * message always finds one. Among the messages of one priority, small or
 * large, first come first served (a large one is not overtaken for ever).
 *
 * Loop thread only. The caller owns the items (embedded in its jobs) and
 * keeps them alive while they are queued or running. */
#ifndef GW_SERVE_WORKQ_H
#define GW_SERVE_WORKQ_H

#include <stddef.h>

typedef struct gw_workq_item {
  struct gw_workq_item *next;
  unsigned char perishable, large;
  unsigned long long seq; /* arrival order, set by gw_workq_offer */
} gw_workq_item;

typedef struct gw_workq {
  gw_workq_item *head[4], *tail[4]; /* perishable, perishable large, other, other large */
  unsigned workers, running, running_large;
  size_t waiting, waiting_perishable;
  unsigned long long seq;
} gw_workq;

void gw_workq_init(gw_workq *q, unsigned workers);

/* 1: the item may start now and counts as running; 0: it waits. */
int gw_workq_offer(gw_workq *q, gw_workq_item *it);

/* The next waiting item that may start now (it counts as running), or NULL. */
gw_workq_item *gw_workq_next(gw_workq *q);

/* A running item finished (or could not be started after all). */
void gw_workq_done(gw_workq *q, const gw_workq_item *it);

#endif
