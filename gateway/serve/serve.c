#include "serve/serve.h"

#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ids.h"
#include "core/jsonw.h"
#include "core/sched.h"
#include "core/log.h"
#include "http/http.h"
#include "kafka/producer.h"
#include "metrics/metrics.h"
#include "pipeline/check.h"
#include "pipeline/problems.h"
#include "pipeline/sign.h"
#include "pipeline/xml.h"
#include "access/access.h"
#include "adapters/registry.h"
#include "model/json.h"
#include "pipeline/process.h"
#include "delivery/delivery.h"
#include "serve/ingest.h"
#include "serve/status_feed.h"
#include "serve/workq.h"
#include "ui/static.h"

/* How long status events wait for company before their produce request: a
 * status query sees an event at most this much (plus one fetch) later. */
#define GW_STATUS_LINGER_MS 50

typedef struct gw_server {
  uv_loop_t loop;
  gw_config *cfg;
  const gw_serve_options *opt;
  gw_pipeline pipe;    /* formats, signing key, trust stores: shared by workers */
  gw_access *access;   /* rate limits and replays: loop thread only */
  gw_role anon_role;   /* of clients without a certificate, submitting */
  gw_role anon_reader; /* the same, reading status */
  gw_kafka_producer *kafka;
  gw_kafka_producer *kafka_prio; /* perishable consignments: queues of their own, no linger */
  gw_kafka_producer *kafka_status; /* status events: nobody waits for them, so they wait to fill batches */
  gw_kafka_producer *kafka_large;  /* messages of pipeline.large_message bytes or more, on a connection of their own */
  gw_ingest *ingest;   /* <prefix>.in, on a thread of its own; NULL when off */
  gw_feed *feed;       /* status events: the store and its queries */
  gw_delivery *delivery[2]; /* <prefix>.<own country>.* to the national endpoint, priority lane
                               and the rest; NULL when off */
  char status_topic[200];
  gw_http_server *http;
  uv_signal_t sig[2];
  uv_prepare_t lag;             /* measures how long each loop iteration kept the loop from polling */
  uint64_t lag_t, lag_idle;
  int signals;
  int draining;
  int forced;
  size_t inflight; /* jobs accepted for processing and not yet answered */
  gw_workq work;            /* jobs in the thread pool, and those waiting for it */
  atomic_size_t perishable_waiting; /* work.waiting_perishable, for the workers to read */
} gw_server;

/* One submitted message from request to answer. Loop-thread fields and
 * worker fields never overlap in time: the worker owns the job between
 * uv_queue_work and its after-callback. */
typedef struct job {
  uv_work_t work;
  gw_server *srv;
  gw_http_request *req;
  char id[37];
  char sender[420];
  char *hdr_ucr, *hdr_dest, *content_type;
  char *replay_key;          /* sender + X-Message-Id, when the client named its message */
  char *accepted;            /* the 202's JSON but for partition and offset, made by the worker */
  gw_role role;
  char received_at[64];
  uint64_t t_queued, t_produced;
  gw_processed out;          /* the worker's result; out.status 0: produced, waiting for the delivery report */
  int perishable;            /* X-Priority: perishable, or found so by the first pass */
  int phase;                 /* 0: first pass (read, check); 1: between the passes; 2: second pass */
  gw_workq_item wq;          /* in srv->work: perishable, at least pipeline.large_message bytes */
  /* loop thread */
  int work_done, dr_done, dr_err, dr_maybe;
  char dr_errstr[160];
  int32_t partition;
  int64_t offset;
} job;

/* ---- answers ------------------------------------------------------------- */

static void respond_json(gw_http_request *req, int status, json_t *body, const char *extra) {
  char *s = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (!s) {
    gw_http_respond(req, 500, "application/json", "{\"errors\":[{\"code\":\"internal\"}]}", 33, NULL);
    return;
  }
  gw_http_respond(req, status, "application/json", s, strlen(s), extra);
  free(s);
}

static void respond_error(gw_http_request *req, int status, const char *code, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void respond_error(gw_http_request *req, int status, const char *code, const char *extra, const char *fmt, ...) {
  gw_problems p = {0};
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  gw_problems_add(&p, code, "error", 0, NULL, "%s", msg);
  char *s = gw_problems_json(&p, NULL);
  gw_problems_free(&p);
  gw_http_respond(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, extra);
  free(s);
}

static void retry_after(const gw_server *srv, char *buf, size_t n) {
  snprintf(buf, n, "Retry-After: %u\r\n", srv->cfg->retry_after_s);
}

/* ---- the pipeline, on a worker thread ------------------------------------ */

/* Rejected messages go to the dead-letter topic with their error report, so a
 * rejection is on record; never to a routing topic. Best effort: the client
 * already gets the reason in the answer. */
static void dead_letter(job *j) {
  gw_server *srv = j->srv;
  char topic[160];
  snprintf(topic, sizeof(topic), "%s.dlq", srv->cfg->topic_prefix);
  char *report = gw_problems_json(&j->out.problems, j->id);
  char status[8];
  snprintf(status, sizeof(status), "%d", j->out.status);
  gw_kafka_header h[] = {
      {"lmcgw-message-id", j->id},        {"lmcgw-sender", j->sender}, {"lmcgw-received-at", j->received_at},
      {"lmcgw-http-status", status},      {"lmcgw-errors", report},
  };
  gw_kafka_produce(srv->kafka, topic, j->id, strlen(j->id), j->req->body, j->req->body_len, h, sizeof(h) / sizeof(h[0]),
                   NULL, NULL);
  free(report);
}

/* A status event to <prefix>.status. Best effort: the message itself is
 * safe in Kafka (or refused) whatever happens to its status record. */
static void emit(gw_server *srv, gw_status_stage st, const gw_submission *in, const gw_processed *out,
                 const char *detail) {
  gw_feed_record r;
  if (gw_feed_event(srv->cfg, st, in, out, detail, &r)) return;
  gw_error e = {0};
  if (gw_kafka_produce_grouped(srv->kafka_status, srv->status_topic, r.key, strlen(r.key), r.value, strlen(r.value), &e))
    gw_log_msg(GW_LOG_WARN, "status_event", in->id, out->ucr, "%s not recorded: %s", gw_status_stage_name(st), e.msg);
  gw_feed_record_free(&r);
}

/* Status events of a record from <prefix>.in, inside its transaction. */
static void on_ingested(void *ud, rd_kafka_t *rk, const gw_submission *in, const gw_processed *out) {
  gw_server *srv = ud;
  gw_status_stage st[6];
  const char *detail[6] = {in->sender};
  size_t n = 0;
  st[n++] = GW_STATUS_RECEIVED;
  if (out->status) {
    st[n++] = GW_STATUS_REJECTED;
  } else {
    st[n++] = GW_STATUS_VALIDATED;
    detail[n] = out->jws ? "gateway signature: detached JWS (lmcgw-jws)" : "gateway signature: enveloped XMLDSig";
    st[n++] = GW_STATUS_SIGNED;
    detail[n] = out->topic;
    st[n++] = GW_STATUS_ROUTED;
    int dec = out->decision ? gw_status_stage_parse(out->decision) : -1;
    if (dec >= 0 && gw_status_stage_is_decision(dec)) st[n++] = (gw_status_stage)dec;
    if (out->kind && !strcmp(out->kind, GW_KIND_SPS_ACK)) st[n++] = GW_STATUS_ACKNOWLEDGED;
  }
  for (size_t i = 0; i < n; i++) {
    gw_feed_record r;
    if (gw_feed_event(srv->cfg, st[i], in, out, detail[i], &r)) continue;
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(srv->status_topic), RD_KAFKA_V_KEY(r.key, strlen(r.key)),
                                              RD_KAFKA_V_VALUE(r.value, strlen(r.value)),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) gw_log_msg(GW_LOG_WARN, "status_event", in->id, out->ucr, "not recorded: %s", rd_kafka_err2str(e));
    gw_feed_record_free(&r);
  }
}

/* Delivery outcomes, from the delivery worker's threads. */
static void on_delivery_status(void *ud, const char *stage, const char *message_id, const char *ucr,
                               const char *document_type, const char *detail) {
  gw_server *srv = ud;
  int st = gw_status_stage_parse(stage);
  if (st < 0) return;
  gw_feed_record r;
  if (gw_feed_event_by_id(srv->cfg, (gw_status_stage)st, message_id, ucr, document_type, detail, &r)) return;
  gw_error e = {0};
  if (gw_kafka_produce_grouped(srv->kafka_status, srv->status_topic, r.key, strlen(r.key), r.value, strlen(r.value), &e))
    gw_log_msg(GW_LOG_WARN, "status_event", message_id, ucr, "%s not recorded: %s", stage, e.msg);
  gw_feed_record_free(&r);
}

/* The 202's body without partition and offset, which come with Kafka's
 * acknowledgement: "{...}" with at least one member. NULL when out of memory. */
/* Written directly (core/jsonw); the signature report is already JSON. A
 * field without a value is left out. */
static char *accepted_json(const job *j) {
  gw_jw w = {0};
  GW_JW_LIT(&w, "{");
  const char *keys[] = {"id", "ucr", "topic", "destination", "document_type", "format", "source_format", "receipt"};
  const char *vals[] = {j->id, j->out.ucr, j->out.topic, j->out.dest, j->out.kind, j->out.out_format,
                        j->out.in_format, j->out.receipt};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (vals[i]) gw_jw_kstr(&w, keys[i], vals[i]);
  if (j->out.signature && *j->out.signature) {
    gw_jw_key(&w, "signature");
    gw_jw_raw(&w, j->out.signature, strlen(j->out.signature));
  }
  if (j->out.problems.n) {
    /* Warnings (lossy fields, rule warnings) travel with the acceptance. */
    char *pj = gw_problems_json(&j->out.problems, NULL);
    json_t *wj = pj ? json_loads(pj, 0, NULL) : NULL;
    char *arr = wj ? json_dumps(json_object_get(wj, "errors"), JSON_COMPACT) : NULL;
    if (arr) {
      gw_jw_key(&w, "warnings");
      gw_jw_raw(&w, arr, strlen(arr));
    }
    free(arr);
    json_decref(wj);
    free(pj);
  }
  GW_JW_LIT(&w, "}");
  return gw_jw_finish(&w);
}

static const char *signing_detail(const gw_processed *out) {
  return out->jws ? "gateway signature: detached JWS (lmcgw-jws)" : "gateway signature: enveloped XMLDSig";
}

static void submission_of(job *j, gw_submission *in) {
  *in = (gw_submission){
      .id = j->id,
      .body = j->req->body,
      .len = j->req->body_len,
      .format_hint = j->content_type,
      .hdr_ucr = j->hdr_ucr,
      .hdr_dest = j->hdr_dest,
      .identity = j->req->identity,
      .role = j->role,
      .sender = j->sender,
      .received_at = j->received_at,
      .perishable = j->perishable,
  };
}

/* Two passes through the thread pool: the first reads and checks the
 * message, the second translates, signs and produces it. Between them the
 * job queues again, perishable goods first, whatever the sender said. */
static void work_cb(uv_work_t *w) {
  job *j = w->data;
  gw_server *srv = j->srv;
  gw_sched_step_back(GW_WORKER_STEP_BACK);
  gw_metrics_queue_depth_add(-1);
  gw_submission in;
  submission_of(j, &in);
  if (j->phase == 0) {
    gw_metrics_stage(GW_STAGE_QUEUE, uv_hrtime() - j->t_queued);
    gw_process_begin(&srv->pipe, &in, &j->out);
    emit(srv, GW_STATUS_RECEIVED, &in, &j->out, j->sender);
    if (j->out.status) {
      dead_letter(j);
      emit(srv, GW_STATUS_REJECTED, &in, &j->out, NULL);
      return;
    }
    /* A message of no perishable goods makes way for perishable ones that
     * came meanwhile: after_work_cb queues its second pass behind them.
     * Otherwise it goes on here, without a second trip through the loop. */
    j->perishable |= j->out.perishable;
    if (!j->perishable && atomic_load_explicit(&srv->perishable_waiting, memory_order_relaxed) > 0) {
      j->phase = 1;
      return;
    }
    j->phase = 2;
  }
  gw_process_end(&srv->pipe, &in, &j->out);
  if (j->out.status) {
    dead_letter(j);
    emit(srv, GW_STATUS_REJECTED, &in, &j->out, NULL);
    return;
  }
  j->t_produced = uv_hrtime();
  gw_error err = {0};
  gw_kafka_producer *kp = j->wq.large && srv->kafka_large ? srv->kafka_large
                         : j->perishable && srv->kafka_prio ? srv->kafka_prio : srv->kafka;
  if (gw_kafka_produce(kp, j->out.topic, j->out.ucr, strlen(j->out.ucr), j->out.payload, j->out.payload_len,
                       j->out.headers, j->out.n_headers, j, &err)) {
    /* Too large for Kafka is final: a 503 would have the sender retry for ever. */
    int big = err.code == GW_ETOOBIG;
    gw_problems_add(&j->out.problems, big ? "too_large_for_kafka" : "kafka_unavailable", "error", 0, NULL, "%s",
                    err.msg);
    j->out.status = big ? 413 : 503;
    emit(srv, GW_STATUS_REJECTED, &in, &j->out,
         big ? "not accepted: larger than Kafka takes in one message"
             : "not accepted: Kafka refused it; the sender was told to send it again");
    return;
  }
  emit(srv, GW_STATUS_VALIDATED, &in, &j->out, NULL);
  emit(srv, GW_STATUS_SIGNED, &in, &j->out, signing_detail(&j->out));
  /* The receipt is made while Kafka works; it is sent only with the 202. */
  gw_process_receipt(&srv->pipe, &in, &j->out);
  j->accepted = accepted_json(j);
}

/* ---- back on the loop ---------------------------------------------------- */

static void check_drain(gw_server *srv);
static void pump(gw_server *srv);
static void schedule(gw_server *srv, job *j);

static void job_free(job *j) {
  gw_processed_free(&j->out);
  free(j->hdr_ucr);
  free(j->hdr_dest);
  free(j->content_type);
  free(j->replay_key);
  free(j->accepted);
  free(j);
}

static enum gw_outcome outcome_of(int status) {
  switch (status) {
  case 202: return GW_OUT_ACCEPTED;
  case 400: return GW_OUT_NOT_WELL_FORMED;
  case 401:
  case 403:
  case 409:
  case 422: return GW_OUT_INVALID; /* refused for what it is or who sent it */
  case 413: return GW_OUT_TOO_LARGE;
  case 415: return GW_OUT_UNSUPPORTED_MEDIA;
  case 429:
  case 503: return GW_OUT_UNAVAILABLE;
  default: return GW_OUT_INTERNAL;
  }
}

static void job_finish(job *j) {
  gw_server *srv = j->srv;
  gw_http_request *req = j->req;
  int status = j->out.status;
  if (status == 0) {
    if (j->dr_err == GW_ETOOBIG) {
      status = 413;
      gw_problems_add(&j->out.problems, "too_large_for_kafka", "error", 0, NULL,
                      "the broker refused the message as larger than it takes (%s); it was not accepted", j->dr_errstr);
    } else if (j->dr_err) {
      status = 503;
      gw_problems_add(&j->out.problems, "kafka_unavailable", "error", 0, NULL,
                      "Kafka did not acknowledge the message in time (%s)%s; it was not accepted, send it again",
                      j->dr_errstr, j->dr_maybe ? " — it may still arrive, receivers deduplicate by message id" : "");
    } else {
      status = 202;
    }
  }
  {
    gw_submission in;
    submission_of(j, &in);
    if (status == 202) {
      char d[300];
      snprintf(d, sizeof(d), "%s [%d] @%lld", j->out.topic, (int)j->partition, (long long)j->offset);
      emit(srv, GW_STATUS_ROUTED, &in, &j->out, d);
      int dec = j->out.decision ? gw_status_stage_parse(j->out.decision) : -1;
      if (dec >= 0 && gw_status_stage_is_decision(dec)) emit(srv, (gw_status_stage)dec, &in, &j->out, NULL);
      if (j->out.kind && !strcmp(j->out.kind, GW_KIND_SPS_ACK)) emit(srv, GW_STATUS_ACKNOWLEDGED, &in, &j->out, NULL);
    } else if (j->out.status == 0) {
      emit(srv, GW_STATUS_REJECTED, &in, &j->out, "not accepted: Kafka did not acknowledge in time; the sender was told to send it again");
    }
  }
  if (status == 202) {
    /* The worker wrote the rest (escaping a 3 KB receipt is not the loop's
     * work); where Kafka put the message is known only now. */
    char *body = NULL;
    if (j->accepted) {
      size_t n = strlen(j->accepted) + 64;
      if ((body = malloc(n)))
        snprintf(body, n, "{\"partition\":%d,\"offset\":%lld,%s", (int)j->partition, (long long)j->offset,
                 j->accepted + 1);
    }
    if (body) gw_http_respond(req, 202, "application/json", body, strlen(body), NULL);
    else gw_http_respond(req, 500, "application/json", "{\"errors\":[{\"code\":\"internal\"}]}", 33, NULL);
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, body ? 202 : 0, body);
    free(body);
    gw_log_msg(GW_LOG_DEBUG, "accepted", j->id, j->out.ucr, "%s [%d] @%lld", j->out.topic, (int)j->partition,
               (long long)j->offset);
  } else {
    char extra[64] = "";
    if (status == 503) retry_after(srv, extra, sizeof(extra));
    char *s = gw_problems_json(&j->out.problems, j->id);
    gw_http_respond(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, *extra ? extra : NULL);
    /* A final refusal is the answer to every repeat; a passing failure is not. */
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, status < 500 ? status : 0, s);
    gw_log_msg(status >= 500 ? GW_LOG_WARN : GW_LOG_INFO, "rejected", j->id, j->out.ucr, "%d %s: %s", status,
               j->out.problems.n ? j->out.problems.items[0].code : "", j->out.problems.n ? j->out.problems.items[0].message : "");
    free(s);
  }
  gw_metrics_outcome(outcome_of(status));
  gw_metrics_stage(GW_STAGE_TOTAL, uv_hrtime() - j->t_queued);
  job_free(j);
  srv->inflight--;
  check_drain(srv);
}

static void after_work_cb(uv_work_t *w, int status) {
  job *j = w->data;
  (void)status;
  gw_workq_done(&j->srv->work, &j->wq);
  if (j->phase == 1) {
    j->phase = 2;
    j->perishable |= j->out.perishable;
    j->wq.perishable = (unsigned char)j->perishable;
    gw_metrics_queue_depth_add(1);
    schedule(j->srv, j);
    pump(j->srv);
    return;
  }
  j->work_done = 1;
  pump(j->srv);
  /* The delivery report may have come first: both arrive on this loop. */
  if (j->out.status != 0 || j->dr_done) job_finish(j);
}

static void on_delivery(void *opaque, int err, const char *errstr, int maybe, int32_t partition, int64_t offset) {
  job *j = opaque;
  j->dr_done = 1;
  j->dr_err = err;
  j->dr_maybe = maybe;
  if (errstr) snprintf(j->dr_errstr, sizeof(j->dr_errstr), "%s", errstr);
  j->partition = partition;
  j->offset = offset;
  gw_metrics_stage(GW_STAGE_KAFKA_ACK, uv_hrtime() - j->t_produced);
  if (j->work_done) job_finish(j);
}

/* ---- routing of requests ------------------------------------------------- */

/* The media types a message may come with: a format's own, generic XML, or
 * none / octet-stream, in which case the format is sniffed. */
static int media_ok(const gw_registry *r, const char *ct) {
  if (!ct) return 1;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if ((n == 15 && !strncasecmp(ct, "application/xml", 15)) || (n == 8 && !strncasecmp(ct, "text/xml", 8)) ||
      (n == 24 && !strncasecmp(ct, "application/octet-stream", 24)) || (n == 10 && !strncasecmp(ct, "text/plain", 10)))
    return 1;
  if (n > 16 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 4, "+xml", 4)) return 1;
  for (size_t i = 0; i < gw_registry_count(r); i++) {
    const char *mt = gw_registry_at(r, i)->media_type;
    if (strlen(mt) == n && !strncasecmp(ct, mt, n)) return 1;
  }
  return 0;
}

/* Only a format's own media type names it; generic ones are sniffed. */
static char *format_hint(const char *ct) {
  if (!ct) return NULL;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if ((n == 24 && !strncasecmp(ct, "application/octet-stream", 24)) || (n == 10 && !strncasecmp(ct, "text/plain", 10)))
    return NULL;
  return strndup(ct, n);
}

static char *header_copy(const gw_http_request *req, const char *name) {
  const char *v = gw_http_header_get(req, name);
  if (!v) return NULL;
  while (*v == ' ') v++;
  return *v ? strdup(v) : NULL;
}

/* ---- the work queue: perishable first ------------------------------------ */

/* At most pipeline.workers jobs are in the thread pool at once; the rest wait
 * in srv->work (serve/workq.h), perishable goods first, so a rush of bulk
 * messages does not hold a truck of fruit. */
static void start_job(gw_server *srv, job *j) {
  int rc = uv_queue_work(&srv->loop, &j->work, work_cb, after_work_cb);
  if (rc) {
    gw_workq_done(&srv->work, &j->wq);
    gw_metrics_queue_depth_add(-1);
    srv->inflight--;
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, 0, NULL);
    respond_error(j->req, 500, "internal", NULL, "cannot queue work: %s", uv_strerror(rc));
    job_free(j);
    check_drain(srv);
  }
}

static void schedule(gw_server *srv, job *j) {
  if (gw_workq_offer(&srv->work, &j->wq)) start_job(srv, j);
  atomic_store_explicit(&srv->perishable_waiting, srv->work.waiting_perishable, memory_order_relaxed);
}

static void pump(gw_server *srv) {
  for (gw_workq_item *it; (it = gw_workq_next(&srv->work));)
    start_job(srv, (job *)((char *)it - offsetof(job, wq)));
  atomic_store_explicit(&srv->perishable_waiting, srv->work.waiting_perishable, memory_order_relaxed);
}

static void post_message(gw_server *srv, gw_http_request *req) {
  char extra[64];
  if (srv->draining) {
    retry_after(srv, extra, sizeof(extra));
    respond_error(req, 503, "shutting_down", extra, "the gateway is shutting down; send it to another instance or later");
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  const char *ct = gw_http_header_get(req, "content-type");
  if (!media_ok(srv->pipe.formats, ct)) {
    respond_error(req, 415, "unsupported_media_type", "Accept: application/xml, application/json, application/edifact\r\n",
                  "content type '%s' is not accepted; send application/xml, application/json or application/edifact",
                  ct ? ct : "(none)");
    gw_metrics_outcome(GW_OUT_UNSUPPORTED_MEDIA);
    return;
  }
  const gw_identity *ident = req->identity;
  gw_role role = gw_access_role(ident, srv->anon_role);
  if (role == GW_ROLE_NONE || role == GW_ROLE_INSPECTOR || role == GW_ROLE_ADMIN) {
    char why[300];
    gw_consignment none = {0};
    int st = gw_access_may_submit(ident, role, srv->cfg->country, GW_KIND_DECLARATION, &none, why, sizeof(why));
    respond_error(req, st, st == 401 ? "unauthenticated" : "forbidden", NULL, "%s", why);
    gw_metrics_outcome(GW_OUT_INVALID);
    return;
  }
  char who[600];
  if (ident->authenticated) snprintf(who, sizeof(who), "%s", ident->subject);
  else snprintf(who, sizeof(who), "anonymous@%s", req->peer);
  /* The port changes per connection; the limit is per client. */
  if (!ident->authenticated) {
    char *colon = strrchr(who, ':');
    if (colon && strchr(who, '.')) *colon = 0;
  }
  uint64_t wait_ms = gw_access_rate_take(srv->access, who, uv_now(&srv->loop));
  if (wait_ms) {
    snprintf(extra, sizeof(extra), "Retry-After: %llu\r\n", (unsigned long long)(wait_ms + 999) / 1000);
    respond_error(req, 429, "rate_limited", extra, "more than %u messages a second from %s; slow down", srv->cfg->rate_limit,
                  ident->authenticated ? ident->cn : "this address");
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  char *replay_key = NULL;
  const char *mid = gw_http_header_get(req, "x-message-id");
  if (mid) {
    while (*mid == ' ') mid++;
    size_t ml = strlen(mid);
    int ok = ml > 0 && ml <= 64;
    for (size_t i = 0; ok && i < ml; i++)
      ok = (mid[i] >= 'a' && mid[i] <= 'z') || (mid[i] >= 'A' && mid[i] <= 'Z') || (mid[i] >= '0' && mid[i] <= '9') ||
           strchr("._:-", mid[i]);
    if (!ok) {
      respond_error(req, 400, "bad_message_id", NULL,
                    "X-Message-Id must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
      gw_metrics_outcome(GW_OUT_INVALID);
      return;
    }
    unsigned char digest[32];
    EVP_Digest(req->body, req->body_len, digest, NULL, EVP_sha256(), NULL);
    size_t kl = strlen(who) + ml + 2;
    replay_key = malloc(kl);
    if (replay_key) snprintf(replay_key, kl, "%s|%s", who, mid);
    int st = 0;
    const char *prev = NULL;
    gw_replay_verdict v =
        replay_key ? gw_access_replay_check(srv->access, replay_key, digest, uv_now(&srv->loop), &st, &prev) : GW_REPLAY_NEW;
    if (v != GW_REPLAY_NEW) {
      if (v == GW_REPLAY_SAME)
        gw_http_respond(req, st, "application/json", prev ? prev : "{}", prev ? strlen(prev) : 2, "X-Replay: true\r\n");
      else
        respond_error(req, 409, v == GW_REPLAY_CONFLICT ? "replay_conflict" : "replay_in_progress", NULL,
                      v == GW_REPLAY_CONFLICT ? "message id '%s' was already used for a different message"
                                              : "message id '%s' is still being processed; ask again shortly",
                      mid);
      free(replay_key);
      gw_metrics_outcome(GW_OUT_INVALID);
      return;
    }
  }
  if (srv->inflight >= srv->cfg->max_inflight) {
    if (replay_key) gw_access_replay_done(srv->access, replay_key, 0, NULL);
    free(replay_key);
    retry_after(srv, extra, sizeof(extra));
    respond_error(req, 503, "overloaded", extra, "%zu messages are in processing; try again shortly", srv->inflight);
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  job *j = calloc(1, sizeof(*j));
  if (!j) {
    if (replay_key) gw_access_replay_done(srv->access, replay_key, 0, NULL);
    free(replay_key);
    respond_error(req, 500, "internal", NULL, "out of memory");
    return;
  }
  j->srv = srv;
  j->req = req;
  j->work.data = j;
  j->role = role;
  j->replay_key = replay_key;
  gw_uuid7(j->id);
  gw_now_rfc3339(j->received_at);
  j->hdr_ucr = header_copy(req, "x-ucr");
  j->hdr_dest = header_copy(req, "x-destination");
  j->content_type = format_hint(ct);
  const gw_identity *id = req->identity;
  if (id->authenticated)
    snprintf(j->sender, sizeof(j->sender), "%s/%s/%s", id->country, id->org, id->cn);
  else
    snprintf(j->sender, sizeof(j->sender), "anonymous@%s", req->peer);
  j->t_queued = req->received_ns ? req->received_ns : uv_hrtime();
  srv->inflight++;
  gw_metrics_queue_depth_add(1);
  const char *prio = gw_http_header_get(req, "x-priority");
  while (prio && *prio == ' ') prio++;
  j->perishable = (prio && !strncasecmp(prio, "perishable", 10)) || gw_sniff_perishable(req->body, req->body_len);
  j->wq.perishable = (unsigned char)j->perishable;
  j->wq.large = req->body_len >= srv->cfg->large_message;
  schedule(srv, j);
}

/* ---- reading status: the store's queries run on the thread pool ---------- */

enum { Q_MESSAGE, Q_SHIPMENT, Q_LIST };

typedef struct query {
  uv_work_t work;
  gw_server *srv;
  gw_http_request *req;
  int kind;
  char *arg; /* decoded id or UCR, or the query string */
  gw_role role;
  int status;
  char *json;
} query;

static void query_work(uv_work_t *w) {
  query *q = w->data;
  gw_feed *f = q->srv->feed;
  const gw_identity *id = q->req->identity;
  q->status = q->kind == Q_MESSAGE    ? gw_feed_message(f, id, q->role, q->arg, &q->json)
              : q->kind == Q_SHIPMENT ? gw_feed_shipment(f, id, q->role, q->arg, &q->json)
                                      : gw_feed_list(f, id, q->role, q->arg, &q->json);
}

static void query_done(uv_work_t *w, int st) {
  query *q = w->data;
  (void)st;
  int status = q->status ? q->status : 200;
  gw_http_respond(q->req, status, "application/json", q->json ? q->json : "{}", q->json ? strlen(q->json) : 2,
                  "Cache-Control: no-store\r\n");
  q->srv->inflight--;
  check_drain(q->srv);
  free(q->json);
  free(q->arg);
  free(q);
}

static void get_status(gw_server *srv, gw_http_request *req, int kind, const char *arg) {
  query *q = calloc(1, sizeof(*q));
  char *a = q ? strdup(arg) : NULL;
  if (!a) {
    free(q);
    respond_error(req, 500, "internal", NULL, "out of memory");
    return;
  }
  if (kind != Q_LIST && (gw_http_url_decode(a, 0) || !*a || strlen(a) > 200)) {
    free(a);
    free(q);
    respond_error(req, 400, "bad_path", NULL, "the %s in the path is empty, too long or badly %%-encoded",
                  kind == Q_MESSAGE ? "message id" : "UCR");
    return;
  }
  q->work.data = q;
  q->srv = srv;
  q->req = req;
  q->kind = kind;
  q->arg = a;
  q->role = gw_access_role(req->identity, srv->anon_reader);
  srv->inflight++;
  int rc = uv_queue_work(&srv->loop, &q->work, query_work, query_done);
  if (rc) {
    srv->inflight--;
    free(a);
    free(q);
    respond_error(req, 500, "internal", NULL, "cannot queue work: %s", uv_strerror(rc));
  }
}

static void get_readyz(gw_server *srv, gw_http_request *req) {
  int kafka = gw_kafka_ready(srv->kafka);
  int ok = kafka && !srv->draining;
  json_t *o = json_object();
  json_object_set_new(o, "status", json_string(ok ? "ready" : "not_ready"));
  json_object_set_new(o, "kafka", json_boolean(kafka));
  json_object_set_new(o, "formats", json_integer((json_int_t)gw_registry_count(srv->pipe.formats)));
  json_object_set_new(o, "draining", json_boolean(srv->draining));
  /* Informative: queries answer from what the store holds so far. */
  json_object_set_new(o, "status_store_caught_up", json_boolean(gw_feed_caught_up(srv->feed)));
  respond_json(req, ok ? 200 : 503, o, NULL);
}

static void get_metrics(gw_server *srv, gw_http_request *req) {
  static gw_http_stats st; /* large; only the loop thread renders */
  gw_http_stats_get(srv->http, &st);
  gw_metrics_extra x = {st.responses_by_status, gw_http_server_connections(srv->http),
                        gw_kafka_inflight(srv->kafka) + gw_kafka_inflight(srv->kafka_prio) +
                            gw_kafka_inflight(srv->kafka_large) + gw_kafka_inflight(srv->kafka_status),
                        gw_kafka_ready(srv->kafka)};
  size_t len = 0;
  char *s = gw_metrics_render(&x, &len);
  if (!s) {
    respond_error(req, 500, "internal", NULL, "out of memory");
    return;
  }
  gw_http_respond(req, 200, "text/plain; version=0.0.4", s, len, NULL);
  free(s);
}

static void on_request(gw_http_request *req, void *ud) {
  gw_server *srv = ud;
  const char *p = req->path;
  int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
  if (!strcmp(p, "/v1/messages")) {
    if (!strcmp(req->method, "POST")) post_message(srv, req);
    else respond_error(req, 405, "method_not_allowed", "Allow: POST\r\n", "use POST to submit a message");
  } else if (!strncmp(p, "/v1/messages/", 13) || !strncmp(p, "/v1/shipments/", 14) || !strcmp(p, "/v1/shipments")) {
    if (!get) respond_error(req, 405, "method_not_allowed", "Allow: GET\r\n", "use GET");
    else if (p[4] == 'm') get_status(srv, req, Q_MESSAGE, p + 13);
    else if (p[13] == '/') get_status(srv, req, Q_SHIPMENT, p + 14);
    else get_status(srv, req, Q_LIST, req->query ? req->query : "");
  } else if (!strcmp(p, "/ui") || !strncmp(p, "/ui/", 4)) {
    char ui_dir[4096];
    snprintf(ui_dir, sizeof(ui_dir), "%s/ui", gw_config_data_dir());
    gw_ui_serve(req, ui_dir);
  } else if (!strcmp(p, "/healthz") || !strcmp(p, "/readyz") || !strcmp(p, "/metrics")) {
    if (!get) respond_error(req, 405, "method_not_allowed", "Allow: GET\r\n", "use GET");
    else if (!strcmp(p, "/healthz")) gw_http_respond(req, 200, "application/json", "{\"status\":\"alive\"}", 18, NULL);
    else if (!strcmp(p, "/readyz")) get_readyz(srv, req);
    else get_metrics(srv, req);
  } else {
    respond_error(req, 404, "not_found", NULL, "no resource at %s", p);
  }
}

/* ---- start and stop ------------------------------------------------------ */

/* Before each poll: the last iteration's time minus the time it slept in the
 * poll is how long a connection ready meanwhile waited for the loop. */
static void on_loop_prepare(uv_prepare_t *h) {
  gw_server *srv = h->data;
  uint64_t now = uv_hrtime(), idle = uv_metrics_idle_time(&srv->loop);
  if (srv->lag_t) {
    uint64_t span = now - srv->lag_t, slept = idle - srv->lag_idle;
    gw_metrics_stage(GW_STAGE_LOOP, span > slept ? span - slept : 0);
  }
  srv->lag_t = now;
  srv->lag_idle = idle;
}

/* Each flushes what it holds for at most timeout_ms; a NULL one never started. */
static void close_producers(gw_server *srv, int timeout_ms) {
  gw_kafka_producer **all[] = {&srv->kafka_prio, &srv->kafka_large, &srv->kafka, &srv->kafka_status};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    gw_kafka_producer_close(*all[i], timeout_ms);
    *all[i] = NULL;
  }
}

static void on_http_closed(void *ud) {
  gw_server *srv = ud;
  srv->http = NULL;
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&srv->sig[i], NULL);
  uv_close((uv_handle_t *)&srv->lag, NULL);
  /* Everything answered: flush what is left (dead letters) and let go. */
  close_producers(srv, (int)srv->cfg->produce_timeout_ms + 1000);
  gw_log(GW_LOG_INFO, "stopped", "all requests answered, producer flushed");
}

static void check_drain(gw_server *srv) {
  if (srv->draining && srv->inflight == 0 && srv->http) {
    gw_http_server *h = srv->http;
    srv->draining = 2; /* closing: don't close twice */
    gw_http_server_close(h, on_http_closed, srv);
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  gw_server *srv = h->data;
  if (++srv->signals > 1) {
    gw_log(GW_LOG_WARN, "signal", "second signal (%d): stopping at once", signum);
    srv->forced = 1;
    uv_stop(&srv->loop);
    return;
  }
  gw_log(GW_LOG_INFO, "signal", "signal %d: no new connections, finishing %zu message(s) in flight", signum,
         srv->inflight);
  srv->draining = 1;
  if (srv->http) gw_http_server_stop_accepting(srv->http);
  /* Ingest stops between transactions: what it consumed is committed with
   * its outputs, or read again by another instance. */
  gw_ingest_stop(srv->ingest);
  srv->ingest = NULL;
  /* Delivery stops between attempts; what it did not commit is delivered
   * again by another instance or at the next start (receivers dedup). */
  for (int i = 0; i < 2; i++) {
    gw_delivery_stop(srv->delivery[i]);
    srv->delivery[i] = NULL;
  }
  check_drain(srv);
}

/* A producer beside the bulk one (started first: the mock cluster is its),
 * with a client.id suffix and a linger.ms of its own. */
static int start_producer(gw_server *srv, const char *role, int linger_ms, gw_kafka_producer **out, gw_error *err) {
  gw_kafka_producer_options po = {role, gw_kafka_mock_bootstrap(srv->kafka), linger_ms};
  return gw_kafka_producer_start(&srv->loop, srv->cfg, &po, on_delivery, out, err);
}

int gw_serve_run(gw_config *cfg, const gw_serve_options *opt, gw_error *err) {
  static const gw_serve_options none = {0};
  if (!opt) opt = &none;
  gw_server *srv = calloc(1, sizeof(*srv));
  if (!srv) return GW_ERR(err, GW_ENOMEM, "out of memory");
  srv->cfg = cfg;
  srv->opt = opt;
  gw_workq_init(&srv->work, cfg->workers);
  int ll = gw_log_level_parse(cfg->log_level);
  if (ll >= 0) gw_log_set_level((enum gw_log_level)ll);
  /* libuv reads this once, at the first uv_queue_work. */
  char nthreads[16];
  snprintf(nthreads, sizeof(nthreads), "%u", cfg->workers);
  setenv("UV_THREADPOOL_SIZE", nthreads, 1);
  signal(SIGPIPE, SIG_IGN);
  int rc = uv_loop_init(&srv->loop);
  if (rc) {
    free(srv);
    return GW_ERR(err, GW_EIO, "uv_loop_init: %s", uv_strerror(rc));
  }
  uv_loop_configure(&srv->loop, UV_METRICS_IDLE_TIME);
  char schema_dir[4096];
  snprintf(schema_dir, sizeof(schema_dir), "%s/schemas", gw_config_data_dir());
  srv->anon_role = (gw_role)(gw_role_parse(cfg->anon_role) > 0 ? gw_role_parse(cfg->anon_role) : 0);
  srv->anon_reader = (gw_role)(gw_role_parse(cfg->anon_reader) > 0 ? gw_role_parse(cfg->anon_reader) : 0);
  srv->access = gw_access_new(cfg->rate_limit, cfg->rate_burst, cfg->replay_entries, (uint64_t)cfg->replay_window_s * 1000);
  rc = srv->access ? 0 : GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!rc) rc = gw_pipeline_open(&srv->pipe, cfg, schema_dir, err);
  if (!rc) rc = gw_kafka_producer_start(&srv->loop, cfg, NULL, on_delivery, &srv->kafka, err);
  if (!rc) rc = start_producer(srv, "priority", 0, &srv->kafka_prio, err);
  /* Four status records a message made a produce request of their own every
   * linger.ms when they shared the producer whose 202s wait: on the bench,
   * most of the broker's CPU. Nobody waits for them; the status store's
   * consumer fetches every 100 ms anyway. */
  if (!rc) rc = start_producer(srv, "status", GW_STATUS_LINGER_MS, &srv->kafka_status, err);
  if (!rc) rc = start_producer(srv, "large", 0, &srv->kafka_large, err);
  gw_http_config hc = {
      .listen = opt->listen ? opt->listen : cfg->listen,
      .tls = !cfg->plain_http,
      .cert_file = cfg->tls_cert,
      .key_file = cfg->tls_key,
      .client_ca_file = cfg->tls_client_ca,
      .require_client_cert = cfg->tls_require_client_cert,
      .max_body = cfg->max_body,
      .max_header_bytes = cfg->max_header_bytes,
      .header_timeout_ms = cfg->header_timeout_ms,
      .body_timeout_ms = cfg->body_timeout_ms,
      .idle_timeout_ms = cfg->idle_timeout_ms,
      .backlog = 1024,
      .reuseport = cfg->reuseport,
  };
  if (!rc) rc = gw_http_server_start(&srv->loop, &hc, on_request, srv, &srv->http, err);
  snprintf(srv->status_topic, sizeof(srv->status_topic), "%s.status", cfg->topic_prefix);
  if (!rc) {
    /* Topics the gateway reads must exist before it subscribes (a missing
     * one is an error every poll); the status topic must be compacted. Where
     * an operator made them already, they stay as they are. */
    char in[200];
    gw_ingest_topic(cfg, in, sizeof(in));
    struct {
      const char *name;
      int compact;
    } need[] = {{cfg->ingest_enabled ? in : NULL, 0}, {srv->status_topic, 1}};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
      gw_error te = {0};
      if (need[i].name && gw_kafka_create_topic(srv->kafka, need[i].name, 6, need[i].compact, 10000, &te))
        gw_log(GW_LOG_WARN, "topics", "%s (the gateway goes on; create it by hand if it stays missing)", te.msg);
    }
  }
  if (!rc) rc = gw_feed_start(cfg, gw_kafka_mock_bootstrap(srv->kafka), &srv->feed, err);
  if (!rc) {
    gw_delivery_config dc;
    rc = gw_delivery_config_from(cfg, &dc, err);
    /* Two lanes, two consumers: perishable consignments are delivered
     * whatever the backlog of the others. */
    for (int lane = 1; !rc && dc.enabled && lane <= 2; lane++) {
      dc.on_status = on_delivery_status;
      dc.ud = srv;
      dc.bootstrap = gw_kafka_mock_bootstrap(srv->kafka);
      dc.lane = lane;
      rc = gw_delivery_start(&dc, &srv->delivery[lane - 1], err);
    }
  }
  if (!rc && cfg->ingest_enabled) {
    gw_ingest_options io = {.bootstrap = gw_kafka_mock_bootstrap(srv->kafka), .on_processed = on_ingested, .ud = srv};
    rc = gw_ingest_start(cfg, &srv->pipe, &io, &srv->ingest, err);
  }
  if (!rc) {
    for (int i = 0; i < 2; i++) {
      uv_signal_init(&srv->loop, &srv->sig[i]);
      srv->sig[i].data = srv;
      uv_signal_start(&srv->sig[i], on_signal, i ? SIGINT : SIGTERM);
    }
    uv_prepare_init(&srv->loop, &srv->lag);
    srv->lag.data = srv;
    uv_prepare_start(&srv->lag, on_loop_prepare);
    uv_unref((uv_handle_t *)&srv->lag);
    gw_log(GW_LOG_INFO, "listening", "%s://%s (port %d), country %s, %zu format(s), kafka %s",
           hc.tls ? "https" : "http", hc.listen, gw_http_server_port(srv->http), cfg->country,
           gw_registry_count(srv->pipe.formats), cfg->kafka_mock ? "mock cluster" : "brokers");
    if (opt->on_listening) opt->on_listening(gw_http_server_port(srv->http), opt->ud);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if (srv->forced) return GW_ECANCELED; /* threads may still run: leave everything */
  } else {
    gw_ingest_stop(srv->ingest);
    gw_delivery_stop(srv->delivery[0]);
    gw_delivery_stop(srv->delivery[1]);
    if (srv->http) gw_http_server_close(srv->http, NULL, NULL);
    close_producers(srv, 0);
    uv_run(&srv->loop, UV_RUN_DEFAULT); /* let closing handles finish */
  }
  int lc = uv_loop_close(&srv->loop);
  if (lc) gw_log(GW_LOG_WARN, "loop_close", "loop still has handles: %s", uv_strerror(lc));
  gw_feed_stop(srv->feed);
  gw_pipeline_close(&srv->pipe);
  gw_access_free(srv->access);
  free(srv);
  return rc;
}
