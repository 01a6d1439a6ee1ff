#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in seconds: 50 µs to 10 s covers a parse as well as a slow broker. */
static const double bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,    5, 10};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

static struct {
  atomic_uint_fast64_t bucket[GW_STAGE_COUNT][N_BOUNDS + 1];
  atomic_uint_fast64_t sum_ns[GW_STAGE_COUNT];
  atomic_uint_fast64_t count[GW_STAGE_COUNT];
  atomic_uint_fast64_t max_ns[GW_STAGE_COUNT];
  atomic_uint_fast64_t outcome[GW_OUT_COUNT];
  atomic_long queue_depth;
  atomic_uint_fast64_t delivery[GW_DEL_COUNT];
} m;

static const char *stage_names[GW_STAGE_COUNT] = {"queue", "parse", "validate", "sign", "serialize", "kafka_ack", "total",
                                                  "event_loop_busy"};
static const char *outcome_names[GW_OUT_COUNT] = {"accepted",    "not_well_formed", "invalid",  "unsupported_media",
                                                  "too_large",   "unavailable",     "internal"};

void gw_metrics_stage(enum gw_stage s, uint64_t ns) {
  double sec = (double)ns / 1e9;
  size_t i = 0;
  while (i < N_BOUNDS && sec > bounds[i]) i++;
  atomic_fetch_add_explicit(&m.bucket[s][i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m.sum_ns[s], ns, memory_order_relaxed);
  atomic_fetch_add_explicit(&m.count[s], 1, memory_order_relaxed);
  uint_fast64_t seen = atomic_load_explicit(&m.max_ns[s], memory_order_relaxed);
  while (ns > seen && !atomic_compare_exchange_weak_explicit(&m.max_ns[s], &seen, ns, memory_order_relaxed,
                                                             memory_order_relaxed)) {
  }
}

uint64_t gw_metrics_stage_max(enum gw_stage s) { return atomic_load_explicit(&m.max_ns[s], memory_order_relaxed); }

static const struct {
  const char *name, *help;
} delivery_names[GW_DEL_COUNT] = {
    {"lmcgw_delivery_attempts_total", "HTTP requests made to the national endpoint."},
    {"lmcgw_delivery_delivered_total", "Records the national endpoint accepted (2xx)."},
    {"lmcgw_delivery_dead_lettered_total", "Records the delivery worker sent to the dead-letter topic."},
    {"lmcgw_delivery_breaker_opened_total", "Times the delivery circuit breaker opened."},
};

void gw_metrics_delivery(enum gw_delivery_counter c) { atomic_fetch_add_explicit(&m.delivery[c], 1, memory_order_relaxed); }
uint64_t gw_metrics_delivery_count(enum gw_delivery_counter c) {
  return atomic_load_explicit(&m.delivery[c], memory_order_relaxed);
}

void gw_metrics_outcome(enum gw_outcome o) { atomic_fetch_add_explicit(&m.outcome[o], 1, memory_order_relaxed); }
void gw_metrics_queue_depth_add(int d) { atomic_fetch_add_explicit(&m.queue_depth, d, memory_order_relaxed); }
long gw_metrics_queue_depth(void) { return atomic_load_explicit(&m.queue_depth, memory_order_relaxed); }

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    if ((size_t)w < b->cap - b->n) {
      b->n += (size_t)w;
      return;
    }
    size_t cap = b->cap * 2 + (size_t)w;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
}

char *gw_metrics_render(const gw_metrics_extra *x, size_t *len) {
  sbuf b = {malloc(8192), 0, 8192, 0};
  if (!b.p) return NULL;
  put(&b, "# HELP lmcgw_http_responses_total HTTP responses by status code.\n# TYPE lmcgw_http_responses_total counter\n");
  if (x && x->http_by_status)
    for (int c = 100; c < 600; c++)
      if (x->http_by_status[c]) put(&b, "lmcgw_http_responses_total{code=\"%d\"} %llu\n", c, (unsigned long long)x->http_by_status[c]);
  put(&b, "# HELP lmcgw_messages_total Messages submitted, by outcome.\n# TYPE lmcgw_messages_total counter\n");
  for (int o = 0; o < GW_OUT_COUNT; o++)
    put(&b, "lmcgw_messages_total{outcome=\"%s\"} %llu\n", outcome_names[o],
        (unsigned long long)atomic_load_explicit(&m.outcome[o], memory_order_relaxed));
  put(&b, "# HELP lmcgw_stage_duration_seconds Time spent per pipeline stage.\n# TYPE lmcgw_stage_duration_seconds histogram\n");
  for (int s = 0; s < GW_STAGE_COUNT; s++) {
    unsigned long long cum = 0;
    for (size_t i = 0; i < N_BOUNDS; i++) {
      cum += atomic_load_explicit(&m.bucket[s][i], memory_order_relaxed);
      put(&b, "lmcgw_stage_duration_seconds_bucket{stage=\"%s\",le=\"%g\"} %llu\n", stage_names[s], bounds[i], cum);
    }
    cum += atomic_load_explicit(&m.bucket[s][N_BOUNDS], memory_order_relaxed);
    put(&b, "lmcgw_stage_duration_seconds_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n", stage_names[s], cum);
    put(&b, "lmcgw_stage_duration_seconds_sum{stage=\"%s\"} %.9f\n", stage_names[s],
        (double)atomic_load_explicit(&m.sum_ns[s], memory_order_relaxed) / 1e9);
    put(&b, "lmcgw_stage_duration_seconds_count{stage=\"%s\"} %llu\n", stage_names[s],
        (unsigned long long)atomic_load_explicit(&m.count[s], memory_order_relaxed));
  }
  put(&b, "# HELP lmcgw_stage_duration_max_seconds The longest time per pipeline stage since start.\n"
          "# TYPE lmcgw_stage_duration_max_seconds gauge\n");
  for (int s = 0; s < GW_STAGE_COUNT; s++)
    put(&b, "lmcgw_stage_duration_max_seconds{stage=\"%s\"} %.9f\n", stage_names[s], (double)gw_metrics_stage_max(s) / 1e9);
  put(&b, "# HELP lmcgw_work_queue_depth Messages waiting for a worker thread.\n# TYPE lmcgw_work_queue_depth gauge\n");
  put(&b, "lmcgw_work_queue_depth %ld\n", gw_metrics_queue_depth());
  for (int c = 0; c < GW_DEL_COUNT; c++)
    put(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", delivery_names[c].name, delivery_names[c].help,
        delivery_names[c].name, delivery_names[c].name, (unsigned long long)gw_metrics_delivery_count(c));
  if (x) {
    put(&b, "# HELP lmcgw_kafka_messages_in_flight Messages produced and not yet acknowledged.\n# TYPE lmcgw_kafka_messages_in_flight gauge\n");
    put(&b, "lmcgw_kafka_messages_in_flight %zu\n", x->kafka_inflight);
    put(&b, "# HELP lmcgw_kafka_ready 1 when the Kafka cluster answers metadata requests.\n# TYPE lmcgw_kafka_ready gauge\n");
    put(&b, "lmcgw_kafka_ready %d\n", x->kafka_ready);
    put(&b, "# HELP lmcgw_http_connections Open HTTP connections.\n# TYPE lmcgw_http_connections gauge\n");
    put(&b, "lmcgw_http_connections %zu\n", x->http_connections);
  }
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.n;
  return b.p;
}
