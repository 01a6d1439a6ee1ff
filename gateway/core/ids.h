/* lmcgw — message ids and timestamps, the same everywhere they appear. */
#ifndef GW_CORE_IDS_H
#define GW_CORE_IDS_H

/* A random (version 4) UUID string into out[37]. */
void gw_uuid4(char out[37]);

/* The current time as RFC 3339 UTC with milliseconds
 * ("2026-11-29T04:30:00.123Z") into out[64]. */
void gw_now_rfc3339(char out[64]);

#endif
