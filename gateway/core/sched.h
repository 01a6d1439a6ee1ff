/* lmcgw — which threads get the CPU first when there is not enough of it.
 *
 * The event loop answers every connection; when it waits for a core, every
 * client waits. Worker threads and the status store's consumer do work that
 * can wait a little, so they step back (a higher nice value, per thread on
 * Linux) and the loop, the Kafka clients' threads and the broker on a small
 * machine go first. */
#ifndef GW_CORE_SCHED_H
#define GW_CORE_SCHED_H

/* Worker threads (the pipeline, ingest) and background threads (the status
 * store's consumer). */
#define GW_WORKER_STEP_BACK 5
#define GW_BACKGROUND_STEP_BACK 10

/* Raises the calling thread's nice value by `by` (0..19), once per thread;
 * later calls on the same thread do nothing. Returns 0 or a negative errno;
 * a refusal is harmless and the caller may ignore it. */
int gw_sched_step_back(int by);

#endif
