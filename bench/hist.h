/* lmcgw bench — a log-bucket latency histogram (HDR-like, ~1.6% resolution)
 * shared by loadgen.c and stages.c. Header-only: static functions. */
#ifndef LMCGW_BENCH_HIST_H
#define LMCGW_BENCH_HIST_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Values (ns) below 128 have a bucket each; above, every power of two is cut
 * into 64 buckets: bucket = 64 * shift + (v >> shift), shift = msb - 6. */
#define H_BUCKETS (64 * 60)
typedef struct hist {
  uint64_t n, max, sum;
  uint32_t b[H_BUCKETS];
} hist;

static inline unsigned h_index(uint64_t v) {
  if (v < 128) return (unsigned)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v);
  unsigned shift = msb - 6;
  return 64 * shift + (unsigned)(v >> shift);
}

static inline uint64_t h_value(unsigned i) { /* the middle of bucket i */
  if (i < 128) return i;
  unsigned shift = i / 64 - 1;
  uint64_t m = i - 64 * shift;
  return (m << shift) + ((1ull << shift) >> 1);
}

static inline void h_add(hist *h, uint64_t v) {
  unsigned i = h_index(v);
  if (i >= H_BUCKETS) i = H_BUCKETS - 1;
  h->b[i]++;
  h->n++;
  h->sum += v;
  if (v > h->max) h->max = v;
}

static inline void h_merge(hist *into, const hist *h) {
  for (unsigned i = 0; i < H_BUCKETS; i++) into->b[i] += h->b[i];
  into->n += h->n;
  into->sum += h->sum;
  if (h->max > into->max) into->max = h->max;
}

static inline uint64_t h_pct(const hist *h, double pct) {
  if (!h->n) return 0;
  uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)h->n);
  if (want < 1) want = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < H_BUCKETS; i++) {
    seen += h->b[i];
    if (seen >= want) {
      uint64_t v = h_value(i);
      return v > h->max ? h->max : v;
    }
  }
  return h->max;
}

#endif
