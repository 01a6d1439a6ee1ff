#include "delivery/delivery.h"

#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "delivery/client.h"
#include "metrics/metrics.h"

/* The longest single wait between two consumer polls while a record waits
 * (backoff, open breaker): short, so stop and rebalances are served at once. */
#define SLICE_MS 100u

enum { BR_CLOSED, BR_OPEN, BR_HALF_OPEN };

typedef struct worker worker;

struct gw_delivery {
  gw_delivery_config cfg; /* strings below are our copies */
  char *country, *prefix, *instance, *endpoint, *ca, *cert, *key, *bootstrap;
  gw_kv *kafka;
  char *group, *regex, *dlq_topic;
  int stop_pipe[2];
  atomic_int stopping;
  /* One breaker for the endpoint, shared by the workers. */
  pthread_mutex_t mu;
  int br_state;
  unsigned br_failures;
  uint64_t br_open_until;
  int br_trial; /* a half-open trial is in flight */
  worker *workers;
  unsigned n_workers;
};

struct worker {
  gw_delivery *d;
  unsigned idx;
  pthread_t th;
  int started;
  rd_kafka_t *rk;  /* consumer */
  rd_kafka_t *dlq; /* producer of dead letters */
  gw_delivery_client *client;
  uint64_t rng;
  int paused;
  /* The record in hand, so a rebalance that takes its partition away is seen. */
  int busy;
  char cur_topic[256];
  int32_t cur_partition;
  int revoked;
  /* Records that arrived while paused (should not happen, see idle()). */
  rd_kafka_message_t **held;
  size_t n_held, cap_held;
  /* Outcome of the dead letter in flight, written by the delivery report. */
  int dlq_done;
  rd_kafka_resp_err_t dlq_err;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopping(gw_delivery *d) { return atomic_load(&d->stopping); }

/* ---- topics ----------------------------------------------------------------- */

char *gw_delivery_topic_regex(const char *prefix, const char *country) {
  size_t n = 2 * strlen(prefix) + 2 * strlen(country) + 64;
  char *r = malloc(n);
  if (!r) return NULL;
  size_t o = 0;
  r[o++] = '^';
  for (const char *s = prefix; *s; s++) {
    if (strchr("\\^$.|?*+()[]{}", *s)) r[o++] = '\\';
    r[o++] = *s;
  }
  snprintf(r + o, n - o, "\\.%s\\.[a-z][a-z0-9_]*(\\.priority)?$", country);
  return r;
}

int gw_delivery_topic_match(const char *prefix, const char *country, const char *topic, char *doctype, size_t cap) {
  size_t pl = strlen(prefix), cl = strlen(country);
  if (strncmp(topic, prefix, pl) || topic[pl] != '.' || strncmp(topic + pl + 1, country, cl) || topic[pl + 1 + cl] != '.')
    return 0;
  const char *dt = topic + pl + cl + 2;
  size_t n = strcspn(dt, ".");
  if (dt[n] && strcmp(dt + n, ".priority")) return 0;
  if (n == 0 || !(dt[0] >= 'a' && dt[0] <= 'z')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((dt[i] >= 'a' && dt[i] <= 'z') || (dt[i] >= '0' && dt[i] <= '9') || dt[i] == '_')) return 0;
  static const char *const reserved[] = {"in", "dlq", "status", NULL};
  for (const char *const *r = reserved; *r; r++)
    if (strlen(*r) == n && !strncmp(dt, *r, n)) return 0;
  if (n >= cap) return 0;
  memcpy(doctype, dt, n);
  doctype[n] = 0;
  return 1;
}

/* ---- configuration ------------------------------------------------------------ */

unsigned gw_delivery_max_poll_ms(unsigned timeout_ms, unsigned retry_max_ms) {
  /* Between two polls: one attempt (timeout_ms) or one dead-letter try; the
   * backoff itself polls. retry_max_ms counts in case a wait is not sliced. */
  unsigned long long need = 3ULL * ((unsigned long long)timeout_ms + retry_max_ms + GW_DELIVERY_DLQ_TIMEOUT_MS);
  if (need < 300000) need = 300000;
  if (need > 86400000) need = 86400000;
  return (unsigned)need;
}

int gw_delivery_config_from(const gw_config *cfg, gw_delivery_config *out, gw_error *err) {
  memset(out, 0, sizeof(*out));
  const gw_country_profile *p = gw_config_country(cfg, cfg->country);
  const char *endpoint = p ? p->endpoint : NULL;
  out->enabled = cfg->delivery_enabled < 0 ? endpoint != NULL : cfg->delivery_enabled;
  out->country = cfg->country;
  out->topic_prefix = cfg->topic_prefix;
  out->instance_id = cfg->instance_id;
  out->endpoint = endpoint;
  out->allow_http = cfg->delivery_allow_http;
  out->ca = cfg->delivery_ca;
  out->cert = cfg->delivery_cert ? cfg->delivery_cert : cfg->tls_cert;
  out->key = cfg->delivery_cert ? cfg->delivery_key : cfg->tls_key;
  out->timeout_ms = cfg->delivery_timeout_ms;
  out->retry_initial_ms = cfg->delivery_retry_initial_ms;
  out->retry_max_ms = cfg->delivery_retry_max_ms;
  out->deadline_s = cfg->delivery_deadline_s;
  out->breaker_failures = cfg->delivery_breaker_failures;
  out->breaker_open_ms = cfg->delivery_breaker_open_ms;
  out->workers = cfg->delivery_workers;
  out->max_poll_interval_ms = gw_delivery_max_poll_ms(out->timeout_ms, out->retry_max_ms);
  for (size_t i = 0; i < cfg->n_kafka; i++)
    if (!strcmp(cfg->kafka[i].key, "max.poll.interval.ms")) out->max_poll_interval_ms = (unsigned)strtoul(cfg->kafka[i].value, NULL, 10);
  out->kafka = cfg->kafka;
  out->n_kafka = cfg->n_kafka;
  if (out->enabled && !endpoint)
    return GW_ERR(err, GW_ECONFIG, "delivery.enabled: countries.%s.endpoint is not set: there is nowhere to deliver to",
                  cfg->country ? cfg->country : "?");
  return 0;
}

/* ---- breaker ------------------------------------------------------------------ */

/* 0: go ahead (*trial: as the half-open trial); else how long to wait. */
static uint64_t breaker_acquire(gw_delivery *d, uint64_t now, int *trial) {
  uint64_t wait = 0;
  *trial = 0;
  pthread_mutex_lock(&d->mu);
  if (d->br_state == BR_OPEN && now >= d->br_open_until) {
    d->br_state = BR_HALF_OPEN;
    d->br_trial = 0;
    gw_log(GW_LOG_INFO, "delivery_breaker", "circuit half-open: one trial request to %s", d->endpoint);
  }
  if (d->br_state == BR_OPEN) {
    wait = d->br_open_until - now;
  } else if (d->br_state == BR_HALF_OPEN) {
    if (d->br_trial) {
      wait = SLICE_MS; /* another worker's trial decides */
    } else {
      d->br_trial = 1;
      *trial = 1;
    }
  }
  pthread_mutex_unlock(&d->mu);
  return wait;
}

/* outcome: 1 the endpoint answered sensibly, 0 a retriable failure, -1 no
 * verdict (the attempt was abandoned). */
static void breaker_done(gw_delivery *d, int outcome, int trial, const char *why) {
  pthread_mutex_lock(&d->mu);
  if (trial) d->br_trial = 0;
  if (outcome == 1) {
    if (d->br_state != BR_CLOSED) gw_log(GW_LOG_INFO, "delivery_breaker", "circuit closed: %s answers again", d->endpoint);
    d->br_state = BR_CLOSED;
    d->br_failures = 0;
  } else if (outcome == 0) {
    d->br_failures++;
    if (d->br_state != BR_OPEN && (trial || d->br_failures >= d->cfg.breaker_failures)) {
      d->br_state = BR_OPEN;
      d->br_open_until = now_ms() + d->cfg.breaker_open_ms;
      gw_metrics_delivery(GW_DEL_BREAKER_OPENED);
      gw_log(GW_LOG_WARN, "delivery_breaker", "circuit open for %u ms after %u consecutive failure(s) of %s: %s",
             d->cfg.breaker_open_ms, d->br_failures, d->endpoint, why);
    }
  }
  pthread_mutex_unlock(&d->mu);
}

/* ---- consumer plumbing ----------------------------------------------------------- */

static void set_paused(worker *w, int pause) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(w->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    if (a->cnt) {
      rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(w->rk, a) : rd_kafka_resume_partitions(w->rk, a);
      if (e) gw_log(GW_LOG_WARN, "delivery_pause", "%s: %s", pause ? "pause" : "resume", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(a);
  }
  w->paused = pause;
}

static int in_list(const rd_kafka_topic_partition_list_t *l, const char *topic, int32_t partition) {
  for (int i = 0; l && i < l->cnt; i++)
    if (l->elems[i].partition == partition && !strcmp(l->elems[i].topic, topic)) return 1;
  return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque) {
  worker *w = opaque;
  int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_error_t *er = NULL;
    rd_kafka_resp_err_t ae = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (coop) er = rd_kafka_incremental_assign(rk, parts);
    else ae = rd_kafka_assign(rk, parts);
    if (er) {
      gw_log(GW_LOG_ERROR, "delivery_rebalance", "assign: %s", rd_kafka_error_string(er));
      rd_kafka_error_destroy(er);
    } else if (ae) {
      gw_log(GW_LOG_ERROR, "delivery_rebalance", "assign: %s", rd_kafka_err2str(ae));
    }
    /* A worker busy with a retry takes new partitions paused. */
    if (w->paused && parts->cnt) rd_kafka_pause_partitions(rk, parts);
    gw_log(GW_LOG_INFO, "delivery_rebalance", "worker %u assigned %d partition(s)", w->idx, parts->cnt);
    return;
  }
  if (w->busy && in_list(parts, w->cur_topic, w->cur_partition)) w->revoked = 1;
  /* Held records of partitions going away belong to their next owner. */
  size_t k = 0;
  for (size_t i = 0; i < w->n_held; i++) {
    rd_kafka_message_t *m = w->held[i];
    if (in_list(parts, rd_kafka_topic_name(m->rkt), m->partition)) rd_kafka_message_destroy(m);
    else w->held[k++] = m;
  }
  w->n_held = k;
  if (coop) {
    rd_kafka_error_t *er = rd_kafka_incremental_unassign(rk, parts);
    if (er) rd_kafka_error_destroy(er);
  } else {
    rd_kafka_assign(rk, NULL);
  }
  gw_log(GW_LOG_INFO, "delivery_rebalance", "worker %u lost %d partition(s)", w->idx, parts->cnt);
}

static void hold(worker *w, rd_kafka_message_t *m) {
  if (w->n_held == w->cap_held) {
    size_t cap = w->cap_held ? w->cap_held * 2 : 8;
    rd_kafka_message_t **n = realloc(w->held, cap * sizeof(*n));
    if (!n) {
      /* Not committed, so not lost: the partition is read again from the last commit. */
      gw_log(GW_LOG_ERROR, "delivery_hold", "out of memory; record %s [%d] @%lld dropped uncommitted",
             rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
      rd_kafka_message_destroy(m);
      return;
    }
    w->held = n;
    w->cap_held = cap;
  }
  w->held[w->n_held++] = m;
}

/* Waits ms while serving the consumer (heartbeats, rebalances, the poll
 * interval); returns early on stop or when the record in hand was revoked. */
static void idle(worker *w, uint64_t ms) {
  uint64_t end = now_ms() + ms;
  while (!stopping(w->d) && !w->revoked) {
    uint64_t now = now_ms();
    if (now >= end) break;
    uint64_t slice = end - now < SLICE_MS ? end - now : SLICE_MS;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, (int)slice);
    if (!m) continue;
    /* Paused partitions deliver nothing, but a record already on its way
     * (or from a partition assigned meanwhile) is kept for later, in order:
     * dropping it would let a later commit skip it. */
    if (m->err) rd_kafka_message_destroy(m);
    else hold(w, m);
  }
}

/* ---- one record ------------------------------------------------------------------ */

static char *header_dup(const rd_kafka_message_t *m, const char *name) {
  rd_kafka_headers_t *h = NULL;
  const void *v = NULL;
  size_t n = 0;
  if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &n) || !v) return NULL;
  return strndup(v, n);
}

typedef struct record {
  const rd_kafka_message_t *m;
  const char *topic;
  char doctype[64];
  char *id, *ucr, *ctype, *origin, *format, *jws, *sig;
  unsigned attempts;
  int last_status;     /* last HTTP status, 0: none */
  char last_error[600];
} record;

static void record_free(record *r) {
  free(r->id), free(r->ucr), free(r->ctype), free(r->origin), free(r->format), free(r->jws), free(r->sig);
}

static void emit(worker *w, const record *r, const char *stage, const char *detail) {
  gw_delivery *d = w->d;
  gw_log_msg(!strcmp(stage, "DELIVERED") ? GW_LOG_INFO : GW_LOG_WARN, !strcmp(stage, "DELIVERED") ? "delivered" : "delivery_failed",
             r->id, r->ucr, "%s", detail);
  if (d->cfg.on_status)
    d->cfg.on_status(d->cfg.ud, stage, r->id ? r->id : "", r->ucr ? r->ucr : "", r->doctype, detail);
}

/* Stores and commits the offset after the record, waiting for the broker. */
static void commit(worker *w, const rd_kafka_message_t *m) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
  rd_kafka_offsets_store(w->rk, l); /* fails only when the partition went away; the commit then says so */
  rd_kafka_resp_err_t e = rd_kafka_commit(w->rk, l, 0);
  if (!e && l->elems[0].err) e = l->elems[0].err;
  if (e)
    gw_log(GW_LOG_WARN, "delivery_commit", "commit of %s [%d] @%lld failed (%s): the record may be delivered again",
           rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset + 1, rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(l);
}

static void on_dlq_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  worker *w = opaque;
  w->dlq_err = m->err;
  w->dlq_done = 1;
}

/* Puts the record in the dead-letter topic and waits until the broker has it.
 * 0 when it is safe to commit; GW_EKAFKA (retry later) or GW_ECANCELED. */
static int dead_letter_once(worker *w, const record *r, const char *code, const char *reason, gw_error *err) {
  gw_delivery *d = w->d;
  const rd_kafka_message_t *m = r->m;
  json_t *j = json_pack("{s:[{s:s,s:s}]}", "errors", "code", code, "message", reason);
  char *errors = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!errors) return GW_ERR(err, GW_ENOMEM, "out of memory");
  rd_kafka_headers_t *src = NULL;
  rd_kafka_headers_t *h = rd_kafka_message_headers(m, &src) == RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_headers_copy(src)
                                                                                         : rd_kafka_headers_new(8);
  static const char *const ours[] = {"lmcgw-errors", "lmcgw-http-status", "lmcgw-delivery-attempts",
                                     "lmcgw-delivery-source"};
  for (size_t i = 0; i < 4; i++) rd_kafka_header_remove(h, ours[i]);
  char status[16], attempts[16], source[320];
  snprintf(status, sizeof(status), "%d", r->last_status);
  snprintf(attempts, sizeof(attempts), "%u", r->attempts);
  snprintf(source, sizeof(source), "%s [%d] @%lld", r->topic, (int)m->partition, (long long)m->offset);
  rd_kafka_header_add(h, "lmcgw-errors", -1, errors, -1);
  rd_kafka_header_add(h, "lmcgw-http-status", -1, status, -1);
  rd_kafka_header_add(h, "lmcgw-delivery-attempts", -1, attempts, -1);
  rd_kafka_header_add(h, "lmcgw-delivery-source", -1, source, -1);
  free(errors);
  w->dlq_done = 0;
  w->dlq_err = 0;
  rd_kafka_resp_err_t e = rd_kafka_producev(w->dlq, RD_KAFKA_V_TOPIC(d->dlq_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
                                            RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  if (e) {
    rd_kafka_headers_destroy(h);
    return GW_ERR(err, GW_EKAFKA, "cannot queue the dead letter: %s", rd_kafka_err2str(e));
  }
  /* Flushed in slices, so a stop does not wait for a Kafka that is away. */
  while (!w->dlq_done) {
    if (stopping(d)) return GW_ERR(err, GW_ECANCELED, "stopped before the dead letter was acknowledged");
    rd_kafka_flush(w->dlq, (int)SLICE_MS);
  }
  if (w->dlq_err) return GW_ERR(err, GW_EKAFKA, "dead letter not acknowledged: %s", rd_kafka_err2str(w->dlq_err));
  return 0;
}

static uint64_t rnd(worker *w) {
  /* xorshift64*: jitter needs no more. */
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  return w->rng * 2685821657736338717ULL;
}

static uint64_t backoff_ms(worker *w, unsigned attempts, long retry_after_s) {
  const gw_delivery_config *c = &w->d->cfg;
  uint64_t cap = c->retry_initial_ms;
  for (unsigned i = 1; i < attempts && cap < c->retry_max_ms; i++) cap *= 2;
  if (cap > c->retry_max_ms) cap = c->retry_max_ms;
  uint64_t ms = rnd(w) % (cap + 1); /* full jitter */
  if (retry_after_s >= 0 && (uint64_t)retry_after_s * 1000 <= c->retry_max_ms && (uint64_t)retry_after_s * 1000 > ms)
    ms = (uint64_t)retry_after_s * 1000;
  return ms;
}

/* Dead-letters the record, retrying Kafka until it takes it; then commits. */
static void dead_letter(worker *w, record *r, const char *code, const char *reason) {
  gw_delivery *d = w->d;
  gw_error err = {0};
  unsigned tries = 0;
  for (;;) {
    int rc = dead_letter_once(w, r, code, reason, &err);
    if (!rc) break;
    if (rc == GW_ECANCELED) {
      gw_log_msg(GW_LOG_WARN, "delivery_abandoned", r->id, r->ucr, "%s; not committed", err.msg);
      return;
    }
    gw_log_msg(GW_LOG_ERROR, "delivery_dlq", r->id, r->ucr, "%s: %s; trying again", d->dlq_topic, err.msg);
    if (!w->paused) set_paused(w, 1);
    idle(w, backoff_ms(w, ++tries, -1));
    if (stopping(d) || w->revoked) {
      gw_log_msg(GW_LOG_WARN, "delivery_abandoned", r->id, r->ucr, "dead letter not written; not committed");
      return;
    }
  }
  commit(w, r->m);
  gw_metrics_delivery(GW_DEL_DEAD_LETTERED);
  char detail[900];
  snprintf(detail, sizeof(detail), "dead-lettered to %s after %u attempt(s): %s", d->dlq_topic, r->attempts, reason);
  emit(w, r, "DELIVERY_FAILED", detail);
}

static int retriable_status(int s) { return s == 408 || s == 429 || (s >= 500 && s <= 599); }

static void deliver(worker *w, const rd_kafka_message_t *m) {
  gw_delivery *d = w->d;
  record r = {.m = m, .topic = rd_kafka_topic_name(m->rkt)};
  size_t tl = strlen(r.topic);
  int prio = tl > 9 && !strcmp(r.topic + tl - 9, ".priority");
  if (!gw_delivery_topic_match(d->prefix, d->country, r.topic, r.doctype, sizeof(r.doctype)) ||
      (d->cfg.lane == 1 && !prio) || (d->cfg.lane == 2 && prio)) {
    /* The regex keeps these out; a topic named like a reserved one is no destination. */
    gw_log(GW_LOG_WARN, "delivery_skip", "%s [%d] @%lld is not a destination topic; skipped", r.topic, (int)m->partition,
           (long long)m->offset);
    commit(w, m);
    return;
  }
  r.id = header_dup(m, "lmcgw-message-id");
  r.ucr = header_dup(m, "lmcgw-ucr");
  r.ctype = header_dup(m, "content-type");
  r.origin = header_dup(m, "lmcgw-origin");
  r.format = header_dup(m, "lmcgw-format");
  r.jws = header_dup(m, "lmcgw-jws");
  r.sig = header_dup(m, "lmcgw-signature");
  char *dt = header_dup(m, "lmcgw-document-type");
  if (dt) snprintf(r.doctype, sizeof(r.doctype), "%s", dt);
  free(dt);
  snprintf(w->cur_topic, sizeof(w->cur_topic), "%s", r.topic);
  w->cur_partition = m->partition;
  w->revoked = 0;
  w->busy = 1;
  const gw_delivery_header hdrs[] = {
      {"X-Message-Id", r.id},          {"X-UCR", r.ucr},
      {"X-Lmcgw-Origin", r.origin},    {"X-Lmcgw-Document-Type", r.doctype},
      {"X-Lmcgw-Format", r.format},    {"X-Lmcgw-Jws", r.jws},
      {"X-Lmcgw-Signature", r.sig},
  };
  uint64_t start = now_ms(), deadline_ms = (uint64_t)d->cfg.deadline_s * 1000;
  for (;;) {
    if (stopping(d) || w->revoked) {
      gw_log_msg(GW_LOG_INFO, "delivery_abandoned", r.id, r.ucr, "%s [%d] @%lld: %s; not committed, delivered later",
                 r.topic, (int)m->partition, (long long)m->offset, w->revoked ? "partition reassigned" : "stopping");
      break;
    }
    uint64_t now = now_ms();
    if (now - start >= deadline_ms) {
      char reason[900];
      snprintf(reason, sizeof(reason), "not delivered within delivery.deadline_s (%u s) after %u attempt(s); last: %s",
               d->cfg.deadline_s, r.attempts, r.attempts ? r.last_error : "the circuit breaker held every attempt back");
      dead_letter(w, &r, "delivery_failed", reason);
      break;
    }
    uint64_t left = deadline_ms - (now - start);
    int trial = 0;
    uint64_t wait = breaker_acquire(d, now, &trial);
    if (wait) {
      if (!w->paused) set_paused(w, 1);
      idle(w, wait < left ? wait : left);
      continue;
    }
    r.attempts++;
    gw_metrics_delivery(GW_DEL_ATTEMPTS);
    gw_delivery_response resp = {0};
    gw_error err = {0};
    int rc = gw_delivery_client_post(w->client, r.ctype, hdrs, sizeof(hdrs) / sizeof(hdrs[0]), m->payload, m->len, &resp,
                                     &err);
    if (rc == GW_ECANCELED) {
      breaker_done(d, -1, trial, NULL);
      r.attempts--;
      continue; /* the loop says why it stops */
    }
    if (rc == GW_EINVAL || rc == GW_ENOMEM) {
      /* Nothing the endpoint can change: a header we cannot send. */
      breaker_done(d, -1, trial, NULL);
      if (rc == GW_ENOMEM) {
        idle(w, SLICE_MS);
        r.attempts--;
        continue;
      }
      r.last_status = 0;
      dead_letter(w, &r, "delivery_failed", err.msg);
      break;
    }
    if (!rc && resp.status >= 200 && resp.status <= 299) {
      breaker_done(d, 1, trial, NULL);
      commit(w, m);
      gw_metrics_delivery(GW_DEL_DELIVERED);
      char detail[200];
      snprintf(detail, sizeof(detail), "endpoint answered %d after %u attempt(s)", resp.status, r.attempts);
      emit(w, &r, "DELIVERED", detail);
      gw_delivery_response_free(&resp);
      break;
    }
    if (!rc) {
      r.last_status = resp.status;
      /* The answer's body says why; a short, one-line excerpt of it. */
      char excerpt[201] = "";
      size_t k = 0;
      for (size_t i = 0; resp.body && i < resp.body_len && k < sizeof(excerpt) - 1; i++)
        excerpt[k++] = resp.body[i] >= 0x20 && resp.body[i] != 0x7f ? resp.body[i] : ' ';
      excerpt[k] = 0;
      snprintf(r.last_error, sizeof(r.last_error), "endpoint %s answered %d%s%s", d->endpoint, resp.status,
               *excerpt ? ": " : "", excerpt);
    } else {
      r.last_status = 0;
      snprintf(r.last_error, sizeof(r.last_error), "%s", err.msg);
    }
    long retry_after = resp.retry_after_s;
    int status = resp.status;
    gw_delivery_response_free(&resp);
    if (!rc && !retriable_status(status)) {
      breaker_done(d, 1, trial, NULL); /* it answered: the endpoint is up, the record is refused */
      dead_letter(w, &r, "delivery_refused", r.last_error);
      break;
    }
    breaker_done(d, 0, trial, r.last_error);
    gw_delivery_client_disconnect(w->client);
    if (r.attempts == 1) {
      char detail[800];
      snprintf(detail, sizeof(detail), "attempt 1 failed, retrying: %s", r.last_error);
      emit(w, &r, "DELIVERY_FAILED", detail);
    } else {
      gw_log_msg(GW_LOG_DEBUG, "delivery_retry", r.id, r.ucr, "attempt %u failed: %s", r.attempts, r.last_error);
    }
    if (!w->paused) set_paused(w, 1);
    uint64_t b = backoff_ms(w, r.attempts, retry_after);
    now = now_ms();
    left = now - start < deadline_ms ? deadline_ms - (now - start) : 0;
    idle(w, b < left ? b : left);
  }
  w->busy = 0;
  if (w->paused && !stopping(d)) set_paused(w, 0);
  record_free(&r);
}

/* ---- threads ------------------------------------------------------------------------ */

static void *worker_main(void *arg) {
  worker *w = arg;
  gw_delivery *d = w->d;
  /* OpenSSL writes with write(2): a peer that went away must give EPIPE in
   * this thread, not a SIGPIPE that ends the process. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  while (!stopping(d)) {
    rd_kafka_message_t *m = NULL;
    if (w->n_held) {
      m = w->held[0];
      memmove(w->held, w->held + 1, (w->n_held - 1) * sizeof(*w->held));
      w->n_held--;
    } else {
      m = rd_kafka_consumer_poll(w->rk, (int)SLICE_MS * 2);
    }
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        gw_log(GW_LOG_WARN, "delivery_consumer", "%s", rd_kafka_message_errstr(m));
    } else {
      deliver(w, m);
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  gw_log(level <= 3 ? GW_LOG_ERROR : level <= 5 ? GW_LOG_WARN : GW_LOG_DEBUG, "delivery_kafka_log", "%s: %s", fac, buf);
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  (void)opaque;
  gw_log(GW_LOG_WARN, "delivery_kafka_error", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int kset(rd_kafka_conf_t *c, const char *k, const char *v, gw_error *err) {
  char es[512];
  if (rd_kafka_conf_set(c, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
    return GW_ERR(err, GW_ECONFIG, "kafka.%s: %s", k, es);
  return 0;
}

/* kafka.* is shared with the gateway's producer; these are its business. */
static int producer_only(const char *k) {
  static const char *const keys[] = {"acks", "request.required.acks", "enable.idempotence", "linger.ms",
                                     "queue.buffering.max.ms", "message.timeout.ms", "compression.type",
                                     "compression.codec", "batch.size", "batch.num.messages", NULL};
  for (const char *const *s = keys; *s; s++)
    if (!strcmp(*s, k)) return 1;
  return 0;
}

static int consumer_only(const char *k) {
  return !strcmp(k, "group.id") || !strncmp(k, "enable.auto.", 12) || !strcmp(k, "auto.offset.reset") ||
         !strcmp(k, "max.poll.interval.ms") || !strcmp(k, "session.timeout.ms") ||
         !strcmp(k, "partition.assignment.strategy") || !strcmp(k, "topic.metadata.refresh.interval.ms");
}

static int common_conf(gw_delivery *d, rd_kafka_conf_t *c, int consumer, const char *client_id, gw_error *err) {
  int rc = kset(c, "client.id", client_id, err);
  if (!rc && consumer) rc = kset(c, "topic.metadata.refresh.interval.ms", "30000", err); /* new document types */
  for (size_t i = 0; i < d->cfg.n_kafka && !rc; i++) {
    const char *k = d->kafka[i].key;
    if (consumer ? producer_only(k) : consumer_only(k)) continue;
    rc = kset(c, k, d->kafka[i].value, err);
  }
  if (!rc && d->bootstrap) rc = kset(c, "bootstrap.servers", d->bootstrap, err);
  rd_kafka_conf_set_log_cb(c, on_kafka_log);
  rd_kafka_conf_set_error_cb(c, on_kafka_error);
  return rc;
}

static int worker_init(gw_delivery *d, worker *w, gw_error *err) {
  char id[300], es[512], mp[32];
  snprintf(id, sizeof(id), "%s-delivery-%u", d->instance, w->idx);
  snprintf(mp, sizeof(mp), "%u", d->cfg.max_poll_interval_ms);
  w->rng = (now_ms() << 16) ^ ((uint64_t)(uintptr_t)w) ^ ((uint64_t)w->idx * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)getpid();
  if (!w->rng) w->rng = 88172645463325252ULL;

  rd_kafka_conf_t *c = rd_kafka_conf_new();
  int rc = common_conf(d, c, 1, id, err);
  if (!rc) rc = kset(c, "group.id", d->group, err);
  if (!rc) rc = kset(c, "enable.auto.commit", "false", err);
  if (!rc) rc = kset(c, "enable.auto.offset.store", "false", err);
  /* A group's first start begins at the beginning: nothing sent before is skipped. */
  if (!rc) rc = kset(c, "auto.offset.reset", "earliest", err);
  if (!rc) rc = kset(c, "max.poll.interval.ms", mp, err);
  if (rc) {
    rd_kafka_conf_destroy(c);
    return rc;
  }
  rd_kafka_conf_set_opaque(c, w);
  rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
  w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof(es));
  if (!w->rk) {
    rd_kafka_conf_destroy(c);
    return GW_ERR(err, GW_EKAFKA, "cannot create the delivery consumer: %s", es);
  }
  rd_kafka_poll_set_consumer(w->rk);

  c = rd_kafka_conf_new();
  snprintf(id, sizeof(id), "%s-delivery-dlq-%u", d->instance, w->idx);
  char mt[32];
  snprintf(mt, sizeof(mt), "%u", GW_DELIVERY_DLQ_TIMEOUT_MS);
  rc = common_conf(d, c, 0, id, err);
  if (!rc) rc = kset(c, "acks", "all", err);
  if (!rc) rc = kset(c, "enable.idempotence", "true", err);
  if (!rc) rc = kset(c, "message.timeout.ms", mt, err);
  if (!rc) rc = kset(c, "linger.ms", "0", err);
  if (rc) {
    rd_kafka_conf_destroy(c);
    return rc;
  }
  rd_kafka_conf_set_opaque(c, w);
  rd_kafka_conf_set_dr_msg_cb(c, on_dlq_dr);
  w->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  if (!w->dlq) {
    rd_kafka_conf_destroy(c);
    return GW_ERR(err, GW_EKAFKA, "cannot create the dead-letter producer: %s", es);
  }

  gw_delivery_client_config cc = {.url = d->endpoint,
                                  .allow_http = d->cfg.allow_http,
                                  .ca_file = d->ca,
                                  .cert_file = d->cert,
                                  .key_file = d->key,
                                  .timeout_ms = d->cfg.timeout_ms,
                                  .cancel_fd = d->stop_pipe[0]};
  rc = gw_delivery_client_new(&cc, &w->client, err);
  if (rc) return rc;

  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, d->regex, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(w->rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e) return GW_ERR(err, GW_EKAFKA, "cannot subscribe to %s: %s", d->regex, rd_kafka_err2str(e));
  return 0;
}

static void worker_close(worker *w) {
  /* Before the consumer goes: its destroy waits for every message it handed out. */
  for (size_t i = 0; i < w->n_held; i++) rd_kafka_message_destroy(w->held[i]);
  free(w->held);
  w->held = NULL;
  w->n_held = 0;
  if (w->rk) {
    /* Leaves the group; with auto commit off nothing is committed here. */
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(w->rk);
    if (e) gw_log(GW_LOG_WARN, "delivery_close", "consumer close: %s", rd_kafka_err2str(e));
    rd_kafka_destroy(w->rk);
  }
  if (w->dlq) {
    /* A dead letter abandoned at stop may still land: its record is not
     * committed, so it is dead-lettered again later (a duplicate, not a loss). */
    rd_kafka_flush(w->dlq, 2000);
    rd_kafka_destroy(w->dlq);
  }
  gw_delivery_client_free(w->client);
}

static void free_all(gw_delivery *d) {
  for (unsigned i = 0; d->workers && i < d->n_workers; i++) worker_close(&d->workers[i]);
  free(d->workers);
  if (d->stop_pipe[0] >= 0) close(d->stop_pipe[0]);
  if (d->stop_pipe[1] >= 0) close(d->stop_pipe[1]);
  for (size_t i = 0; d->kafka && i < d->cfg.n_kafka; i++) free(d->kafka[i].key), free(d->kafka[i].value);
  free(d->kafka);
  free(d->country), free(d->prefix), free(d->instance), free(d->endpoint), free(d->ca), free(d->cert), free(d->key);
  free(d->bootstrap), free(d->group), free(d->regex), free(d->dlq_topic);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int gw_delivery_start(const gw_delivery_config *cfg, gw_delivery **out, gw_error *err) {
  *out = NULL;
  if (!cfg->country || !gw_country_code_ok(cfg->country))
    return GW_ERR(err, GW_ECONFIG, "delivery: gateway.country is not set");
  if (!cfg->endpoint) return GW_ERR(err, GW_ECONFIG, "delivery: countries.%s.endpoint is not set", cfg->country);
  if (!cfg->topic_prefix || !*cfg->topic_prefix) return GW_ERR(err, GW_ECONFIG, "delivery: routing.topic_prefix is empty");
  if (cfg->retry_initial_ms == 0 || cfg->retry_max_ms < cfg->retry_initial_ms)
    return GW_ERR(err, GW_ECONFIG, "delivery.retry_max_ms (%u) must be at least delivery.retry_initial_ms (%u), which must be > 0",
                  cfg->retry_max_ms, cfg->retry_initial_ms);
  gw_delivery *d = calloc(1, sizeof(*d));
  if (!d) return GW_ERR(err, GW_ENOMEM, "out of memory");
  pthread_mutex_init(&d->mu, NULL);
  d->stop_pipe[0] = d->stop_pipe[1] = -1;
  d->cfg = *cfg;
  if (!d->cfg.workers) d->cfg.workers = 1;
  if (!d->cfg.breaker_failures) d->cfg.breaker_failures = 1;
  if (!d->cfg.max_poll_interval_ms) d->cfg.max_poll_interval_ms = gw_delivery_max_poll_ms(cfg->timeout_ms, cfg->retry_max_ms);
  d->country = strdup(cfg->country);
  d->prefix = strdup(cfg->topic_prefix);
  d->instance = strdup(cfg->instance_id ? cfg->instance_id : "lmcgw");
  d->endpoint = strdup(cfg->endpoint);
  d->ca = dup_or_null(cfg->ca);
  d->cert = dup_or_null(cfg->cert);
  d->key = dup_or_null(cfg->key);
  d->bootstrap = dup_or_null(cfg->bootstrap);
  int oom = !d->country || !d->prefix || !d->instance || !d->endpoint || (cfg->ca && !d->ca) || (cfg->cert && !d->cert) ||
            (cfg->key && !d->key) || (cfg->bootstrap && !d->bootstrap);
  if (cfg->n_kafka) {
    d->kafka = calloc(cfg->n_kafka, sizeof(*d->kafka));
    oom |= !d->kafka;
    for (size_t i = 0; d->kafka && i < cfg->n_kafka; i++) {
      d->kafka[i].key = strdup(cfg->kafka[i].key);
      d->kafka[i].value = strdup(cfg->kafka[i].value);
      oom |= !d->kafka[i].key || !d->kafka[i].value;
    }
  }
  d->cfg.country = d->cfg.topic_prefix = d->cfg.instance_id = d->cfg.endpoint = NULL;
  d->cfg.ca = d->cfg.cert = d->cfg.key = d->cfg.bootstrap = NULL;
  d->cfg.kafka = d->kafka;
  d->regex = gw_delivery_topic_regex(d->prefix ? d->prefix : "", d->country ? d->country : "");
  if (d->regex && d->cfg.lane) {
    /* Narrow "(\.priority)?$" to one lane. */
    char *opt = strstr(d->regex, "(\\.priority)?$");
    if (opt) strcpy(opt, d->cfg.lane == 1 ? "\\.priority$" : "$");
  }
  size_t gl = (d->prefix ? strlen(d->prefix) : 0) + 32;
  d->group = malloc(gl);
  d->dlq_topic = malloc(gl);
  oom |= !d->regex || !d->group || !d->dlq_topic;
  if (oom) {
    free_all(d);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  snprintf(d->group, gl, "%s.delivery.%s%s", d->prefix, d->country, d->cfg.lane == 1 ? ".priority" : "");
  snprintf(d->dlq_topic, gl, "%s.dlq", d->prefix);
  if (pipe(d->stop_pipe) != 0) {
    free_all(d);
    return GW_ERR(err, GW_EIO, "pipe() failed");
  }
  for (int i = 0; i < 2; i++) fcntl(d->stop_pipe[i], F_SETFD, FD_CLOEXEC);
  int has_bootstrap = d->bootstrap != NULL;
  for (size_t i = 0; i < cfg->n_kafka; i++) has_bootstrap |= !strcmp(cfg->kafka[i].key, "bootstrap.servers");
  if (!has_bootstrap) {
    free_all(d);
    return GW_ERR(err, GW_ECONFIG, "delivery: no kafka.bootstrap.servers (with gateway.mock_kafka, pass the mock "
                  "cluster's address as bootstrap)");
  }
  d->workers = calloc(d->cfg.workers, sizeof(*d->workers));
  if (!d->workers) {
    free_all(d);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  d->n_workers = d->cfg.workers;
  for (unsigned i = 0; i < d->n_workers; i++) {
    d->workers[i].d = d;
    d->workers[i].idx = i;
    int rc = worker_init(d, &d->workers[i], err);
    if (rc) {
      free_all(d);
      return rc;
    }
  }
  for (unsigned i = 0; i < d->n_workers; i++) {
    if (pthread_create(&d->workers[i].th, NULL, worker_main, &d->workers[i]) != 0) {
      gw_delivery_stop(d);
      return GW_ERR(err, GW_EIO, "cannot start a delivery thread");
    }
    d->workers[i].started = 1;
  }
  gw_log(GW_LOG_INFO, "delivery_start", "%u worker(s) deliver %s to %s (group %s)", d->n_workers, d->regex, d->endpoint,
         d->group);
  *out = d;
  return 0;
}

void gw_delivery_stop(gw_delivery *d) {
  if (!d) return;
  atomic_store(&d->stopping, 1);
  /* Wakes an HTTP exchange in progress; never drained, so it stays readable. */
  ssize_t w = write(d->stop_pipe[1], "x", 1);
  (void)w;
  for (unsigned i = 0; i < d->n_workers; i++)
    if (d->workers[i].started) pthread_join(d->workers[i].th, NULL);
  free_all(d);
}
