/* lmcgw — message ids and timestamps, the same everywhere they appear. */
#ifndef GW_CORE_IDS_H
#define GW_CORE_IDS_H

/* A time-ordered UUID (version 7, RFC 9562: 48 bits of Unix milliseconds,
 * then 74 random bits) string into out[37]. Time order keeps the status
 * store's inserts at the end of its indexes instead of on random pages. */
void gw_uuid7(char out[37]);

/* The current time as RFC 3339 UTC with milliseconds
 * ("2026-11-29T04:30:00.123Z") into out[64]. */
void gw_now_rfc3339(char out[64]);

#endif
