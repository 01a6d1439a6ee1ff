#include "serve/status_feed.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "core/ids.h"
#include "core/log.h"
#include "kafka/tail.h"

struct gw_feed {
  const gw_config *cfg;
  char topic[200];
  gw_status_store *writer; /* the tail thread's */
  gw_status_store *reader; /* queries, under mu */
  uv_mutex_t mu;
  gw_kafka_tail *tail;
  atomic_int caught_up;
  atomic_int failed;
};

/* ---- from the topic into the store ----------------------------------------- */

static int64_t start_offset(void *ud, int32_t partition) {
  gw_feed *f = ud;
  int64_t off = -1;
  gw_error e = {0};
  if (gw_status_store_offset_get(f->writer, f->topic, partition, &off, &e)) return -1;
  return off;
}

/* Applies one partition's run of records inside the open transaction, with
 * the offset after the last: what is applied and where to resume never
 * disagree. The parsed events go into evs (kept until the commit, which folds
 * them into their messages without parsing them again). */
static int apply_run(gw_feed *f, const gw_kafka_record *recs, size_t n, gw_status_event *evs, gw_error *e) {
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    gw_error pe = {0};
    if (gw_status_event_parse(recs[i].value, recs[i].value_len, &evs[i], &pe)) {
      /* Someone else's record, or a broken one: it cannot be applied, and
       * reading it again would not help. */
      gw_log(GW_LOG_WARN, "status_feed", "%s [%d] @%lld skipped: %s", f->topic, (int)recs[i].partition,
             (long long)recs[i].offset, pe.msg);
    } else {
      rc = gw_status_store_apply(f->writer, &evs[i], e);
    }
  }
  if (!rc) rc = gw_status_store_offset_set(f->writer, f->topic, recs[0].partition, recs[n - 1].offset + 1, e);
  return rc;
}

/* One transaction per batch, whatever partitions it spans: a commit (and the
 * WAL pages it writes) costs more than the events in it. */
static int on_batch(void *ud, const gw_kafka_record *recs, size_t n) {
  gw_feed *f = ud;
  gw_error e = {0};
  gw_status_event *evs = calloc(n ? n : 1, sizeof(*evs));
  int rc = evs ? gw_status_store_begin(f->writer, &e) : GW_ERR(&e, GW_ENOMEM, "out of memory");
  size_t start = 0;
  for (size_t i = 1; i <= n && !rc; i++)
    if (i == n || recs[i].partition != recs[start].partition) {
      rc = apply_run(f, recs + start, i - start, evs + start, &e);
      start = i;
    }
  if (!rc) rc = gw_status_store_commit(f->writer, &e);
  else if (evs) gw_status_store_rollback(f->writer);
  for (size_t i = 0; evs && i < n; i++) gw_status_event_free(&evs[i]);
  free(evs);
  if (rc) {
    gw_log(GW_LOG_ERROR, "status_feed", "cannot apply %zu record(s) to the status store: %s", n, e.msg);
    atomic_store(&f->failed, 1);
    return 1; /* stop: the store is behind, /readyz says so */
  }
  return 0;
}

static void on_caught_up(void *ud) {
  gw_feed *f = ud;
  atomic_store(&f->caught_up, 1);
  gw_log(GW_LOG_INFO, "status_feed", "status store caught up with %s", f->topic);
}

int gw_feed_start(const gw_config *cfg, const char *bootstrap, gw_feed **out, gw_error *err) {
  *out = NULL;
  if (mkdir(cfg->state_dir, 0750) && errno != EEXIST)
    return GW_ERR(err, GW_EIO, "gateway.state_dir: cannot create %s: %s", cfg->state_dir, strerror(errno));
  gw_feed *f = calloc(1, sizeof(*f));
  if (!f) return GW_ERR(err, GW_ENOMEM, "out of memory");
  f->cfg = cfg;
  snprintf(f->topic, sizeof(f->topic), "%s.status", cfg->topic_prefix);
  char path[4096];
  snprintf(path, sizeof(path), "%s/status.db", cfg->state_dir);
  uv_mutex_init(&f->mu);
  int rc = gw_status_store_open(&f->writer, path, err);
  if (!rc) rc = gw_status_store_open(&f->reader, path, err);
  gw_kafka_tail_callbacks cb = {start_offset, on_batch, on_caught_up, f};
  if (!rc) rc = gw_kafka_tail_start(cfg, bootstrap, f->topic, &cb, &f->tail, err);
  if (rc) {
    gw_feed_stop(f);
    return rc;
  }
  *out = f;
  return 0;
}

void gw_feed_stop(gw_feed *f) {
  if (!f) return;
  gw_kafka_tail_stop(f->tail);
  gw_status_store_close(f->writer);
  gw_status_store_close(f->reader);
  uv_mutex_destroy(&f->mu);
  free(f);
}

int gw_feed_caught_up(const gw_feed *f) {
  return f && atomic_load(&((gw_feed *)f)->caught_up) && !atomic_load(&((gw_feed *)f)->failed);
}

/* ---- events ----------------------------------------------------------------------------- */

void gw_feed_record_free(gw_feed_record *rec) {
  free(rec->key);
  free(rec->value);
  rec->key = rec->value = NULL;
}

static int finish(gw_status_event *ev, gw_feed_record *rec) {
  rec->value = gw_status_event_json(ev);
  rec->key = gw_status_event_key(ev);
  if (!rec->value || !rec->key) {
    gw_feed_record_free(rec);
    return GW_ENOMEM;
  }
  return 0;
}

static char *S(const char *s) { return (char *)(s ? s : ""); } /* the event only borrows */

int gw_feed_event_by_id(const gw_config *cfg, gw_status_stage stage, const char *message_id, const char *ucr,
                        const char *document_type, const char *detail, gw_feed_record *rec) {
  char eid[37];
  gw_uuid7(eid);
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  gw_status_event ev = {
      .event_id = eid,
      .message_id = S(message_id),
      .ucr = S(ucr),
      .at_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000,
      .stage = stage,
      .gateway = S(cfg->country),
      .instance = S(cfg->instance_id),
      .document_type = S(document_type),
      .document_number = "",
      .format = "",
      .source_format = "",
      .origin = "",
      .destination = "",
      .submitter = "",
      .detail = S(detail),
      .decision = -1,
  };
  return finish(&ev, rec);
}

int gw_feed_event(const gw_config *cfg, gw_status_stage stage, const gw_submission *in, const gw_processed *out,
                  const char *detail, gw_feed_record *rec) {
  memset(rec, 0, sizeof(*rec));
  char eid[37], submitter[300] = "";
  gw_uuid7(eid);
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  const gw_identity *id = in->identity;
  if (id && id->authenticated) snprintf(submitter, sizeof(submitter), "%s/%s", id->country, id->org);
  gw_status_event ev = {
      .event_id = eid,
      .message_id = S(in->id),
      .ucr = S(out->ucr ? out->ucr : in->hdr_ucr),
      .at_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000,
      .stage = stage,
      .gateway = S(cfg->country),
      .instance = S(cfg->instance_id),
      .document_type = S(out->kind),
      .document_number = S(out->document_number),
      .format = S(out->out_format),
      .source_format = S(out->in_format),
      .origin = S(out->origin),
      .destination = S(out->dest),
      .submitter = submitter,
      .hs_codes = (char **)out->hs_codes,
      .n_hs_codes = out->n_hs,
      .perishable = gw_status_perishable((const char *const *)out->hs_codes, out->n_hs),
      .detail = S(detail),
      .decision = -1,
  };
  gw_status_cite cites[GW_PROCESSED_MAX_CITES];
  for (size_t i = 0; i < out->n_cites; i++) cites[i] = (gw_status_cite){out->cites[i][0], out->cites[i][1]};
  ev.cites = cites;
  ev.n_cites = out->n_cites;
  if (out->decision) {
    int d = gw_status_stage_parse(out->decision);
    if (d >= 0 && gw_status_stage_is_decision(d)) ev.decision = d;
  }
  /* Problems: the errors of a rejection, the warnings of an acceptance. */
  gw_status_problem probs[GW_PROBLEMS_MAX];
  size_t np = 0;
  if (stage == GW_STATUS_REJECTED || stage == GW_STATUS_VALIDATED)
    for (size_t i = 0; i < out->problems.n && np < GW_PROBLEMS_MAX; i++) {
      const gw_problem *p = &out->problems.items[i];
      probs[np++] = (gw_status_problem){(char *)p->code, (char *)p->severity, (char *)p->path, (char *)p->message, p->line};
    }
  ev.problems = probs;
  ev.n_problems = np;
  /* The sender's verified signature, as the answer gave it. */
  gw_status_signature sig = {0};
  char *chain[GW_TRUST_MAX_CHAIN];
  json_t *sj = out->signature ? json_loads(out->signature, 0, NULL) : NULL;
  if (sj) {
    sig.status = (char *)json_string_value(json_object_get(sj, "status"));
    sig.signer = (char *)json_string_value(json_object_get(sj, "signer"));
    sig.country = (char *)json_string_value(json_object_get(sj, "country"));
    sig.algorithm = (char *)json_string_value(json_object_get(sj, "algorithm"));
    json_t *c = json_object_get(sj, "chain");
    for (size_t i = 0; i < json_array_size(c) && i < GW_TRUST_MAX_CHAIN; i++)
      chain[sig.n_chain++] = (char *)json_string_value(json_array_get(c, i));
    sig.chain = chain;
    if (!sig.status) sig.status = "valid";
    if (!sig.signer) sig.signer = "";
    if (!sig.country) sig.country = "";
    if (!sig.algorithm) sig.algorithm = "";
    ev.signature = &sig;
  }
  int rc = finish(&ev, rec);
  json_decref(sj);
  return rc;
}

/* ---- queries ------------------------------------------------------------------------------ */

static char *error_body(const char *code, const char *msg) {
  gw_problems p = {0};
  gw_problems_add(&p, code, "error", 0, NULL, "%s", msg);
  char *s = gw_problems_json(&p, NULL);
  gw_problems_free(&p);
  return s;
}

static int status_of(int rc) { return rc == GW_ENOTFOUND ? 404 : 500; }

/* May this reader see what the target describes? 0, or 401/403 with *json. */
static int may_read(const gw_identity *id, gw_role role, const gw_status_target *t, char **json) {
  gw_read_target rt = {t->origin, t->destination, (const char *const *)t->submitters, t->n_submitters};
  char why[400];
  int st = gw_access_may_read(id, role, &rt, why, sizeof(why));
  if (st) *json = error_body(st == 401 ? "unauthenticated" : "forbidden", why);
  return st;
}

static int query_error(int rc, const gw_error *e, char **json) {
  *json = error_body(rc == GW_ENOTFOUND ? "not_found" : "internal", e->msg);
  return status_of(rc);
}

int gw_feed_message(gw_feed *f, const gw_identity *id, gw_role role, const char *message_id, char **json) {
  *json = NULL;
  gw_status_target t = {0};
  gw_error e = {0};
  uv_mutex_lock(&f->mu);
  int rc = gw_status_store_message_target(f->reader, message_id, &t, &e);
  int st = rc ? query_error(rc, &e, json) : may_read(id, role, &t, json);
  if (!st) {
    rc = gw_status_store_message(f->reader, message_id, json, &e);
    if (rc) st = query_error(rc, &e, json);
  }
  uv_mutex_unlock(&f->mu);
  gw_status_target_free(&t);
  return st;
}

int gw_feed_shipment(gw_feed *f, const gw_identity *id, gw_role role, const char *ucr, char **json) {
  *json = NULL;
  gw_status_target t = {0};
  gw_error e = {0};
  uv_mutex_lock(&f->mu);
  int rc = gw_status_store_read_target(f->reader, ucr, &t, &e);
  int st = rc ? query_error(rc, &e, json) : may_read(id, role, &t, json);
  if (!st) {
    rc = gw_status_store_shipment(f->reader, ucr, time(NULL), json, &e);
    if (rc) st = query_error(rc, &e, json);
  }
  uv_mutex_unlock(&f->mu);
  gw_status_target_free(&t);
  return st;
}

int gw_feed_list(gw_feed *f, const gw_identity *id, gw_role role, const char *query, char **json) {
  *json = NULL;
  char *q = strdup(query ? query : ""), *save = NULL;
  if (!q) return 500;
  gw_status_filter flt = {.perishable = -1};
  int st = 0;
  for (char *kv = strtok_r(q, "&", &save); kv && !st; kv = strtok_r(NULL, "&", &save)) {
    char *v = strchr(kv, '=');
    if (!v) continue;
    *v++ = 0;
    if (gw_http_url_decode(v, 1)) {
      char m[300];
      snprintf(m, sizeof(m), "the value of '%.100s' is not properly %%-encoded", kv);
      *json = error_body("bad_query", m);
      st = 400;
    } else if (!strcmp(kv, "country")) flt.country = *v ? v : NULL;
    else if (!strcmp(kv, "status")) flt.status = *v ? v : NULL;
    else if (!strcmp(kv, "since")) flt.since = *v ? v : NULL;
    else if (!strcmp(kv, "cursor")) flt.cursor = *v ? v : NULL;
    else if (!strcmp(kv, "limit")) flt.limit = atoi(v);
    else if (!strcmp(kv, "perishable")) {
      if (!strcmp(v, "true") || !strcmp(v, "1")) flt.perishable = 1;
      else if (!strcmp(v, "false") || !strcmp(v, "0")) flt.perishable = 0;
      else if (*v) {
        char m[300];
        snprintf(m, sizeof(m), "perishable must be true or false, not '%.100s'", v);
        *json = error_body("bad_query", m);
        st = 400;
      }
    }
  }
  char submitter[300];
  if (!st) {
    switch (role) {
    case GW_ROLE_ADMIN: flt.scope = GW_STATUS_SCOPE_ADMIN; break;
    case GW_ROLE_INSPECTOR:
    case GW_ROLE_CUSTOMS:
      if (!id->authenticated || !id->country[0]) {
        *json = error_body("forbidden", "this role reads its certificate's country's shipments, and it has none");
        st = 403;
      }
      flt.scope = GW_STATUS_SCOPE_COUNTRY;
      flt.scope_value = id->country;
      break;
    case GW_ROLE_TRADER:
      if (!id->authenticated) {
        *json = error_body("unauthenticated", "a trader reads its own shipments: a client certificate is required");
        st = 401;
      }
      snprintf(submitter, sizeof(submitter), "%s/%s", id->country, id->org);
      flt.scope = GW_STATUS_SCOPE_SUBMITTER;
      flt.scope_value = submitter;
      break;
    default:
      *json = error_body(id->authenticated ? "forbidden" : "unauthenticated",
                         id->authenticated ? "the certificate's OU names no role" : "a client certificate is required");
      st = id->authenticated ? 403 : 401;
    }
  }
  if (!st) {
    gw_error e = {0};
    uv_mutex_lock(&f->mu);
    int rc = gw_status_store_list(f->reader, &flt, json, &e);
    uv_mutex_unlock(&f->mu);
    if (rc) {
      free(*json);
      *json = error_body(rc == GW_EINVAL ? "bad_query" : "internal", e.msg);
      st = rc == GW_EINVAL ? 400 : 500;
    }
  }
  free(q);
  return st;
}
