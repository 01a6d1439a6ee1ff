#include "serve/workq.h"

void gw_workq_init(gw_workq *q, unsigned workers) {
  *q = (gw_workq){0};
  q->workers = workers ? workers : 1;
}

static int large_may_start(const gw_workq *q) {
  unsigned cap = q->workers > 1 ? q->workers - 1 : 1;
  return q->running_large < cap;
}

static void run(gw_workq *q, const gw_workq_item *it) {
  q->running++;
  if (it->large) q->running_large++;
}

int gw_workq_offer(gw_workq *q, gw_workq_item *it) {
  /* Nothing waits while a worker is free, except large messages at their cap:
   * a newcomer that may start can go ahead of no one. */
  if (q->running < q->workers && (!it->large || large_may_start(q))) {
    run(q, it);
    return 1;
  }
  int i = (it->perishable ? 0 : 2) + (it->large ? 1 : 0);
  it->next = NULL;
  it->seq = q->seq++;
  if (q->tail[i]) q->tail[i]->next = it;
  else q->head[i] = it;
  q->tail[i] = it;
  q->waiting++;
  if (i < 2) q->waiting_perishable++;
  return 0;
}

gw_workq_item *gw_workq_next(gw_workq *q) {
  if (q->running >= q->workers) return NULL;
  for (int level = 0; level < 4; level += 2) {
    /* The older of the level's two heads, the large one only under its cap. */
    int i = -1;
    gw_workq_item *small = q->head[level], *large = large_may_start(q) ? q->head[level + 1] : NULL;
    if (small && (!large || small->seq < large->seq)) i = level;
    else if (large) i = level + 1;
    if (i < 0) continue;
    gw_workq_item *it = q->head[i];
    q->head[i] = it->next;
    if (!q->head[i]) q->tail[i] = NULL;
    it->next = NULL;
    q->waiting--;
    if (i < 2) q->waiting_perishable--;
    run(q, it);
    return it;
  }
  return NULL;
}

void gw_workq_done(gw_workq *q, const gw_workq_item *it) {
  if (q->running) q->running--;
  if (it->large && q->running_large) q->running_large--;
}
