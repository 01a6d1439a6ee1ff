/* libFuzzer target: status events (gateway/status). Whatever parses must
 * print and parse back to the same text, and apply to a store whose answers
 * (shipment, message, list) are then computed. One in-memory store for the
 * run, emptied now and then so it stays small. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status/store.h"

static gw_status_store *store;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static unsigned runs;
  gw_error err = {0};
  if (!store && gw_status_store_open(&store, ":memory:", &err)) __builtin_trap();
  if (++runs % 256 == 0) gw_status_store_reset(store, &err);
  gw_status_event ev;
  if (gw_status_event_parse((const char *)data, size, &ev, &err)) return 0;
  char *j = gw_status_event_json(&ev);
  if (j) {
    gw_status_event again;
    if (gw_status_event_parse(j, strlen(j), &again, &err)) __builtin_trap();
    char *j2 = gw_status_event_json(&again);
    if (j2 && strcmp(j, j2)) __builtin_trap();
    free(j2);
    gw_status_event_free(&again);
    free(j);
  }
  if (gw_status_store_apply(store, &ev, &err) == 0) {
    char *out = NULL;
    /* Not found is possible: an event_id seen before (with other content)
     * is ignored. */
    gw_status_store_message(store, ev.message_id, &out, &err);
    free(out);
    out = NULL;
    if (*ev.ucr) gw_status_store_shipment(store, ev.ucr, 1795926600, &out, &err);
    free(out);
    out = NULL;
    gw_status_filter f = {.perishable = -1, .limit = 5};
    gw_status_store_list(store, &f, &out, &err);
    free(out);
    gw_status_target t;
    if (gw_status_store_message_target(store, ev.message_id, &t, &err) == 0) gw_status_target_free(&t);
  }
  gw_status_event_free(&ev);
  return 0;
}
