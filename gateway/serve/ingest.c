#include "serve/ingest.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/sched.h"
#include "kafka/conf.h"
#include "metrics/metrics.h"

#define TXN_TIMEOUT_MS 30000

struct gw_ingest {
  const gw_config *cfg;
  const gw_pipeline *pipe;
  gw_ingest_options opt;
  rd_kafka_t *consumer, *producer;
  char topic[200], results[220], dlq[200];
  uv_thread_t thread;
  atomic_int stop;
  atomic_ullong committed;
  int txn_broken; /* a record of the open transaction could not be queued: abort it */
};

static const char *header(rd_kafka_message_t *m, const char *name, char *buf, size_t cap) {
  rd_kafka_headers_t *h = NULL;
  const void *v;
  size_t vl;
  if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &vl) || !v) return NULL;
  if (vl >= cap) vl = cap - 1;
  memcpy(buf, v, vl);
  buf[vl] = 0;
  return buf;
}

/* Queues a record in the open transaction. A record librdkafka refuses at
 * once is not part of the transaction, which would commit without it: the
 * caller decides (a final refusal, or g->txn_broken and the batch again). */
static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const char *topic, const char *key, size_t key_len,
                                   const void *value, size_t len, const gw_kafka_header *hs, size_t n) {
  rd_kafka_headers_t *h = rd_kafka_headers_new(n);
  for (size_t i = 0; i < n; i++)
    if (hs[i].value) rd_kafka_header_add(h, hs[i].name, -1, hs[i].value, -1);
  rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                                            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  if (e) {
    rd_kafka_headers_destroy(h);
    gw_log(GW_LOG_WARN, "ingest", "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
  }
  return e;
}

/* What an HTTP client would have been answered, as the result record. */
static char *result_json(const gw_submission *in, const gw_processed *out) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(in->id));
  json_object_set_new(o, "status", json_integer(out->status ? out->status : 202));
  if (out->ucr) json_object_set_new(o, "ucr", json_string(out->ucr));
  if (!out->status) {
    json_object_set_new(o, "topic", json_string(out->topic));
    json_object_set_new(o, "destination", json_string(out->dest));
    json_object_set_new(o, "document_type", json_string(out->kind));
    json_object_set_new(o, "format", json_string(out->out_format));
    json_object_set_new(o, "source_format", json_string(out->in_format));
    if (out->receipt) json_object_set_new(o, "receipt", json_string(out->receipt));
    json_t *sig = out->signature ? json_loads(out->signature, 0, NULL) : NULL;
    if (sig) json_object_set_new(o, "signature", sig);
  }
  char *p = out->problems.n ? gw_problems_json(&out->problems, NULL) : NULL;
  json_t *pj = p ? json_loads(p, 0, NULL) : NULL;
  if (pj) json_object_set(o, out->status ? "errors" : "warnings", json_object_get(pj, "errors"));
  json_decref(pj);
  free(p);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

/* Partitions come and go with the instances of the country (the group): each
 * change is logged with the partitions, so an operator sees who took over a
 * killed instance's share and when. Served by rd_kafka_consumer_poll on the
 * ingest thread, so never in the middle of a transaction. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque) {
  (void)opaque;
  int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  int assign = e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  char list[512] = "";
  size_t o = 0;
  for (int i = 0; i < parts->cnt && o + 16 < sizeof(list); i++)
    o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%d", i ? "," : "", (int)parts->elems[i].partition);
  const char *what = NULL;
  if (coop) {
    rd_kafka_error_t *er = assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
    if (er) {
      what = rd_kafka_error_string(er);
      gw_log(GW_LOG_ERROR, "ingest_rebalance", "%s: %s", assign ? "assign" : "unassign", what);
      rd_kafka_error_destroy(er);
    }
  } else {
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, assign ? parts : NULL);
    if (ae) gw_log(GW_LOG_ERROR, "ingest_rebalance", "%s: %s", assign ? "assign" : "unassign", rd_kafka_err2str(ae));
  }
  gw_log(GW_LOG_INFO, "ingest_rebalance", "%s %d partition(s) of %s: [%s]", assign ? "assigned" : "revoked", parts->cnt,
         parts->cnt ? parts->elems[0].topic : "-", list);
}

/* One record through the pipeline; its outputs go into the open transaction. */
static void process_record(gw_ingest *g, rd_kafka_message_t *m) {
  char mid[80], ucr[160], dest[8], ct[128], org[128], idbuf[64], prio[32];
  const char *given = header(m, "lmcgw-message-id", mid, sizeof(mid));
  /* A stable id per record, so a batch read again after an abort gets the
   * same ids: receivers deduplicate by them. */
  if (!given) {
    snprintf(idbuf, sizeof(idbuf), "in.%s.%d.%lld", g->cfg->country, (int)m->partition, (long long)m->offset);
    given = idbuf;
  }
  const char *hucr = header(m, "lmcgw-ucr", ucr, sizeof(ucr));
  if (!hucr && m->key_len && m->key_len < sizeof(ucr)) {
    memcpy(ucr, m->key, m->key_len);
    ucr[m->key_len] = 0;
    hucr = ucr;
  }
  gw_identity id = {0};
  id.authenticated = 1;
  snprintf(id.country, sizeof(id.country), "%s", g->cfg->country);
  snprintf(id.org, sizeof(id.org), "%s",
           header(m, "lmcgw-sender-org", org, sizeof(org)) ? org : "national customs system");
  snprintf(id.org_unit, sizeof(id.org_unit), "customs-system");
  snprintf(id.cn, sizeof(id.cn), "kafka:%.*s", (int)sizeof(id.cn) - 7, g->topic); /* a long topic name is cut */
  snprintf(id.subject, sizeof(id.subject), "CN=kafka:%s,OU=customs-system,O=%s,C=%s", g->topic, id.org, id.country);
  char sender[420], received[64];
  snprintf(sender, sizeof(sender), "%s/%s/%s", id.country, id.org, id.cn);
  gw_now_rfc3339(received);
  gw_submission in = {
      .id = given,
      .body = m->payload ? m->payload : "",
      .len = m->len,
      .format_hint = header(m, "content-type", ct, sizeof(ct)),
      .hdr_ucr = hucr,
      .hdr_dest = header(m, "lmcgw-destination", dest, sizeof(dest)),
      .identity = &id,
      .role = GW_ROLE_CUSTOMS,
      .sender = sender,
      .received_at = received,
      .perishable = header(m, "lmcgw-priority", prio, sizeof(prio)) && !strcmp(prio, "perishable"),
  };
  gw_processed out;
  gw_process(g->pipe, &in, &out);
  if (!out.status) {
    gw_process_receipt(g->pipe, &in, &out);
    rd_kafka_resp_err_t e =
        produce(g->producer, out.topic, out.ucr, strlen(out.ucr), out.payload, out.payload_len, out.headers, out.n_headers);
    if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      /* Final, as over HTTP (413): a dead letter and a result say so. */
      gw_problems_add(&out.problems, "too_large_for_kafka", "error", 0, NULL,
                      "%zu bytes once signed: more than Kafka takes in one message (message.max.bytes)", out.payload_len);
      out.status = 413;
    } else if (e) {
      g->txn_broken = 1;
    }
  }
  if (out.status) {
    char *report = gw_problems_json(&out.problems, in.id);
    char status[8];
    snprintf(status, sizeof(status), "%d", out.status);
    gw_kafka_header h[] = {{"lmcgw-message-id", in.id},
                           {"lmcgw-sender", sender},
                           {"lmcgw-received-at", received},
                           {"lmcgw-http-status", status},
                           {"lmcgw-errors", report}};
    if (produce(g->producer, g->dlq, in.id, strlen(in.id), in.body, in.len, h, 5)) g->txn_broken = 1;
    free(report);
  }
  char *res = result_json(&in, &out);
  if (res) {
    gw_kafka_header h[] = {{"lmcgw-message-id", in.id}};
    if (produce(g->producer, g->results, in.id, strlen(in.id), res, strlen(res), h, 1)) g->txn_broken = 1;
  }
  free(res);
  if (g->opt.on_processed) g->opt.on_processed(g->opt.ud, g->producer, &in, &out);
  gw_metrics_outcome(out.status ? (out.status >= 500 ? GW_OUT_INTERNAL : out.status == 400 ? GW_OUT_NOT_WELL_FORMED : GW_OUT_INVALID) : GW_OUT_ACCEPTED);
  gw_log_msg(out.status ? GW_LOG_INFO : GW_LOG_DEBUG, out.status ? "ingest_rejected" : "ingest_routed", in.id, out.ucr,
             "%s [%d] @%lld: %d %s", g->topic, (int)m->partition, (long long)m->offset, out.status ? out.status : 202,
             out.status && out.problems.n ? out.problems.items[0].code : out.topic);
  gw_processed_free(&out);
}

/* After an aborted transaction the consumer goes back to what is committed,
 * so the batch is read and processed again. */
static void rewind_to_committed(gw_ingest *g) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(g->consumer, &a) || !a) return;
  if (!rd_kafka_committed(g->consumer, a, 10000)) {
    for (int i = 0; i < a->cnt; i++)
      if (a->elems[i].offset < 0) a->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(g->consumer, a, 10000);
    if (e) rd_kafka_error_destroy(e);
  }
  rd_kafka_topic_partition_list_destroy(a);
}

static int txn_ok(gw_ingest *g, rd_kafka_error_t *e, const char *what) {
  if (!e) return 1;
  gw_log(GW_LOG_WARN, "ingest", "%s: %s", what, rd_kafka_error_string(e));
  if (rd_kafka_error_txn_requires_abort(e)) {
    rd_kafka_error_t *a = rd_kafka_abort_transaction(g->producer, TXN_TIMEOUT_MS);
    if (a) rd_kafka_error_destroy(a);
  }
  rd_kafka_error_destroy(e);
  rewind_to_committed(g);
  return 0;
}

static void ingest_main(void *arg) {
  gw_ingest *g = arg;
  gw_sched_step_back(GW_WORKER_STEP_BACK);
  size_t cap = g->cfg->ingest_batch ? g->cfg->ingest_batch : 100;
  rd_kafka_message_t **batch = calloc(cap, sizeof(*batch));
  int ready = 0;
  while (!atomic_load(&g->stop)) {
    if (!ready) {
      /* The broker may be away at start-up: try until it answers. */
      rd_kafka_error_t *e = rd_kafka_init_transactions(g->producer, 10000);
      if (e) {
        int fatal = rd_kafka_error_is_fatal(e);
        gw_log(fatal ? GW_LOG_ERROR : GW_LOG_WARN, "ingest", "init_transactions: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        if (fatal) break;
        uv_sleep(500);
        continue;
      }
      ready = 1;
    }
    size_t n = 0;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(g->consumer, 200);
    while (m) {
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          gw_log(GW_LOG_WARN, "ingest", "%s: %s", g->topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
      } else {
        batch[n++] = m;
      }
      m = n < cap ? rd_kafka_consumer_poll(g->consumer, 0) : NULL;
    }
    if (!n) continue;
    int ok = txn_ok(g, rd_kafka_begin_transaction(g->producer), "begin_transaction");
    g->txn_broken = 0;
    for (size_t i = 0; ok && i < n; i++) process_record(g, batch[i]);
    if (ok && g->txn_broken) {
      /* Something was not queued: nothing of the batch may count as done. */
      rd_kafka_error_t *a = rd_kafka_abort_transaction(g->producer, TXN_TIMEOUT_MS);
      if (a) {
        gw_log(GW_LOG_WARN, "ingest", "abort_transaction: %s", rd_kafka_error_string(a));
        rd_kafka_error_destroy(a);
      }
      rewind_to_committed(g);
      ok = 0;
    }
    rd_kafka_topic_partition_list_t *pos = NULL;
    if (ok && !rd_kafka_assignment(g->consumer, &pos) && pos) {
      rd_kafka_position(g->consumer, pos);
      rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(g->consumer);
      ok = txn_ok(g, rd_kafka_send_offsets_to_transaction(g->producer, pos, md, TXN_TIMEOUT_MS), "send_offsets");
      rd_kafka_consumer_group_metadata_destroy(md);
    }
    if (pos) rd_kafka_topic_partition_list_destroy(pos);
    if (ok) ok = txn_ok(g, rd_kafka_commit_transaction(g->producer, TXN_TIMEOUT_MS), "commit_transaction");
    if (ok) atomic_fetch_add(&g->committed, n);
    for (size_t i = 0; i < n; i++) rd_kafka_message_destroy(batch[i]);
    if (!ok) uv_sleep(200);
  }
  free(batch);
}

void gw_ingest_topic(const gw_config *cfg, char *out, size_t cap) {
  if (cfg->ingest_topic && *cfg->ingest_topic) snprintf(out, cap, "%s", cfg->ingest_topic);
  else snprintf(out, cap, "%s.in", cfg->topic_prefix);
}

int gw_ingest_start(const gw_config *cfg, const gw_pipeline *pipe, const gw_ingest_options *opt, gw_ingest **out,
                    gw_error *err) {
  *out = NULL;
  gw_ingest *g = calloc(1, sizeof(*g));
  if (!g) return GW_ERR(err, GW_ENOMEM, "out of memory");
  g->cfg = cfg;
  g->pipe = pipe;
  if (opt) g->opt = *opt;
  gw_ingest_topic(cfg, g->topic, sizeof(g->topic));
  snprintf(g->results, sizeof(g->results), "%s.results", g->topic);
  snprintf(g->dlq, sizeof(g->dlq), "%s.dlq", cfg->topic_prefix);
  char es[512], group[260], txid[400];
  snprintf(group, sizeof(group), "%s.ingest.%s", cfg->topic_prefix, cfg->country);
  snprintf(txid, sizeof(txid), "%s.ingest.%s", cfg->topic_prefix, cfg->instance_id);
  int rc = 0;
  rd_kafka_conf_t *cc = gw_kafka_client_conf(cfg, "ingest", g->opt.bootstrap, err);
  if (!cc) rc = err ? err->code : GW_ECONFIG;
  if (!rc) rc = gw_kafka_conf_set(cc, "group.id", group, err);
  /* Static membership: an instance that restarts (after a crash, too) gets
   * its partitions back at once instead of after the session timeout. */
  if (!rc) rc = gw_kafka_conf_set(cc, "group.instance.id", cfg->instance_id, err);
  if (!rc) rc = gw_kafka_conf_set(cc, "enable.auto.commit", "false", err);
  if (!rc) rc = gw_kafka_conf_set(cc, "auto.offset.reset", "earliest", err);
  if (!rc) rc = gw_kafka_conf_set(cc, "isolation.level", "read_committed", err);
  if (!rc) rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
  if (!rc) {
    g->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, es, sizeof(es));
    if (!g->consumer) rc = GW_ERR(err, GW_EKAFKA, "cannot create the ingest consumer: %s", es);
    else cc = NULL;
  }
  if (cc) rd_kafka_conf_destroy(cc);
  rd_kafka_conf_t *pc = rc ? NULL : gw_kafka_client_conf(cfg, "ingest-txn", g->opt.bootstrap, err);
  if (!rc && !pc) rc = err ? err->code : GW_ECONFIG;
  if (!rc) gw_kafka_conf_grouped(pc);
  if (!rc) rc = gw_kafka_conf_set(pc, "transactional.id", txid, err);
  if (!rc) rc = gw_kafka_conf_set(pc, "acks", "all", err);
  if (!rc) rc = gw_kafka_conf_set(pc, "enable.idempotence", "true", err);
  if (!rc) rc = gw_kafka_conf_set(pc, "linger.ms", "2", err);
  if (!rc) {
    g->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, es, sizeof(es));
    if (!g->producer) rc = GW_ERR(err, GW_EKAFKA, "cannot create the ingest producer: %s", es);
    else pc = NULL;
  }
  if (pc) rd_kafka_conf_destroy(pc);
  if (!rc) {
    rd_kafka_poll_set_consumer(g->consumer);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, g->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(g->consumer, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e) rc = GW_ERR(err, GW_EKAFKA, "cannot subscribe to %s: %s", g->topic, rd_kafka_err2str(e));
  }
  if (!rc && uv_thread_create(&g->thread, ingest_main, g)) rc = GW_ERR(err, GW_EIO, "cannot start the ingest thread");
  if (rc) {
    if (g->consumer) rd_kafka_destroy(g->consumer);
    if (g->producer) rd_kafka_destroy(g->producer);
    free(g);
    return rc;
  }
  gw_log(GW_LOG_INFO, "ingest", "consuming %s as group %s (transactional id %s)", g->topic, group, txid);
  *out = g;
  return 0;
}

void gw_ingest_stop(gw_ingest *g) {
  if (!g) return;
  atomic_store(&g->stop, 1);
  uv_thread_join(&g->thread);
  rd_kafka_consumer_close(g->consumer);
  rd_kafka_destroy(g->consumer);
  rd_kafka_flush(g->producer, 5000);
  rd_kafka_destroy(g->producer);
  free(g);
}

unsigned long long gw_ingest_committed(const gw_ingest *g) { return atomic_load(&((gw_ingest *)g)->committed); }
