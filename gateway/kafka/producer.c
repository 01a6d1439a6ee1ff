#include "kafka/producer.h"

#include "kafka/conf.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

struct gw_kafka_producer {
  rd_kafka_t *rk;
  rd_kafka_queue_t *mainq;
  uv_poll_t poll;
  int pipefd[2];
  gw_kafka_on_delivery on_delivery;
  /* Readiness prober: its own thread, so a slow metadata request never
   * blocks the loop or a worker. */
  uv_thread_t prober;
  uv_mutex_t mu;
  uv_cond_t cond;
  int stopping;
  atomic_int ready;
  char *mock_bootstrap;
};

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  gw_kafka_producer *p = opaque;
  (void)rk;
  if (!m->_private) return; /* fire-and-forget message (e.g. dead letters) */
  int maybe = m->err && rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
  int e = !m->err ? 0 : m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? GW_ETOOBIG : GW_EKAFKA;
  p->on_delivery(m->_private, e, m->err ? rd_kafka_err2str(m->err) : NULL, maybe,
                 m->partition, m->offset);
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  (void)opaque;
  gw_log(GW_LOG_WARN, "kafka_error", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  gw_log(level <= 3 ? GW_LOG_ERROR : level <= 5 ? GW_LOG_WARN : GW_LOG_DEBUG, "kafka_log", "%s: %s", fac, buf);
}

/* Serves delivery reports and errors until the main queue is empty: the I/O
 * event fires only when the queue goes from empty to non-empty. */
static void drain(gw_kafka_producer *p) {
  char buf[256];
  while (read(p->pipefd[0], buf, sizeof(buf)) > 0) {
  }
  while (rd_kafka_poll(p->rk, 0) > 0) {
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  drain(h->data);
}

static void prober_main(void *arg) {
  gw_kafka_producer *p = arg;
  uv_mutex_lock(&p->mu);
  while (!p->stopping) {
    uv_mutex_unlock(&p->mu);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, NULL, &md, 2000);
    int ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt > 0;
    if (md) rd_kafka_metadata_destroy(md);
    if (ok != atomic_load(&p->ready)) gw_log(ok ? GW_LOG_INFO : GW_LOG_WARN, "kafka_ready", "kafka %s", ok ? "reachable" : "unreachable");
    atomic_store(&p->ready, ok);
    uv_mutex_lock(&p->mu);
    if (!p->stopping) uv_cond_timedwait(&p->cond, &p->mu, 2000ULL * 1000 * 1000);
  }
  uv_mutex_unlock(&p->mu);
}

static int set(rd_kafka_conf_t *c, const char *k, const char *v, gw_error *err) {
  char es[512];
  if (rd_kafka_conf_set(c, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
    return GW_ERR(err, GW_ECONFIG, "kafka.%s: %s", k, es);
  return 0;
}

int gw_kafka_producer_start(uv_loop_t *loop, const gw_config *cfg, const gw_kafka_producer_options *opt,
                            gw_kafka_on_delivery on_delivery, gw_kafka_producer **out, gw_error *err) {
  static const gw_kafka_producer_options plain = {NULL, NULL, -1};
  if (!opt) opt = &plain;
  int own_mock = cfg->kafka_mock && !opt->bootstrap;
  gw_kafka_producer *p = calloc(1, sizeof(*p));
  if (!p) return GW_ERR(err, GW_ENOMEM, "out of memory");
  p->pipefd[0] = p->pipefd[1] = -1;
  p->on_delivery = on_delivery;
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  char timeout[32], cid[300];
  snprintf(timeout, sizeof(timeout), "%u", cfg->produce_timeout_ms);
  snprintf(cid, sizeof(cid), "%s%s%s", cfg->instance_id, opt->role ? "-" : "", opt->role ? opt->role : "");
  int rc = set(c, "client.id", cid, err);
  /* Defaults first, so kafka.* in the file may tune them... */
  if (!rc) rc = set(c, "message.timeout.ms", timeout, err);
  if (!rc) rc = set(c, "linger.ms", "2", err);
  if (!rc) rc = set(c, "socket.keepalive.enable", "true", err);
  if (!rc && own_mock) rc = set(c, "test.mock.num.brokers", "1", err);
  for (size_t i = 0; i < cfg->n_kafka && !rc; i++) {
    const char *k = cfg->kafka[i].key, *v = cfg->kafka[i].value;
    if ((!strcmp(k, "acks") || !strcmp(k, "request.required.acks")) && strcmp(v, "all") && strcmp(v, "-1"))
      rc = GW_ERR(err, GW_ECONFIG, "kafka.%s: lmcgw needs acks=all: a 202 promises the message is replicated", k);
    else if (!strcmp(k, "enable.idempotence") && strcmp(v, "true"))
      rc = GW_ERR(err, GW_ECONFIG, "kafka.enable.idempotence: lmcgw needs true: retries must not duplicate or reorder");
    else
      rc = set(c, k, v, err);
  }
  if (!rc && opt->bootstrap) rc = set(c, "bootstrap.servers", opt->bootstrap, err);
  if (!rc && opt->linger_ms >= 0) {
    char l[16];
    snprintf(l, sizeof(l), "%d", opt->linger_ms);
    rc = set(c, "linger.ms", l, err);
  }
  /* ...but never the guarantees a 202 stands on. */
  if (!rc) rc = set(c, "acks", "all", err);
  if (!rc) rc = set(c, "enable.idempotence", "true", err);
  if (rc) {
    rd_kafka_conf_destroy(c);
    free(p);
    return rc;
  }
  gw_kafka_conf_grouped(c);
  rd_kafka_conf_set_opaque(c, p);
  rd_kafka_conf_set_dr_msg_cb(c, on_dr);
  rd_kafka_conf_set_error_cb(c, on_kafka_error);
  rd_kafka_conf_set_log_cb(c, on_kafka_log);
  char es[512];
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es));
  if (!p->rk) {
    rd_kafka_conf_destroy(c);
    free(p);
    return GW_ERR(err, GW_EKAFKA, "cannot create Kafka producer: %s", es);
  }
  if (pipe(p->pipefd) != 0) {
    rd_kafka_destroy(p->rk);
    free(p);
    return GW_ERR(err, GW_EIO, "pipe() failed");
  }
  for (int i = 0; i < 2; i++) {
    fcntl(p->pipefd[i], F_SETFL, fcntl(p->pipefd[i], F_GETFL) | O_NONBLOCK);
    fcntl(p->pipefd[i], F_SETFD, FD_CLOEXEC);
  }
  if (own_mock) {
    /* The mock cluster listens on loopback; tell where, so `kcat` can look in. */
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(p->rk);
    const char *bs = mc ? rd_kafka_mock_cluster_bootstraps(mc) : NULL;
    if (bs) {
      p->mock_bootstrap = strdup(bs);
      gw_log(GW_LOG_INFO, "kafka_mock", "in-process mock cluster at %s", bs);
      char path[1024];
      snprintf(path, sizeof(path), "%s/mock-bootstrap", cfg->state_dir);
      FILE *f = fopen(path, "w");
      if (f) {
        fprintf(f, "%s\n", bs);
        fclose(f);
      }
    }
  }
  p->mainq = rd_kafka_queue_get_main(p->rk);
  rd_kafka_queue_io_event_enable(p->mainq, p->pipefd[1], "1", 1);
  uv_poll_init(loop, &p->poll, p->pipefd[0]);
  p->poll.data = p;
  uv_poll_start(&p->poll, UV_READABLE, on_poll);
  uv_mutex_init(&p->mu);
  uv_cond_init(&p->cond);
  uv_thread_create(&p->prober, prober_main, p);
  *out = p;
  return 0;
}

int gw_kafka_produce(gw_kafka_producer *p, const char *topic, const char *key, size_t key_len,
                     const void *value, size_t value_len, const gw_kafka_header *headers, size_t n_headers,
                     void *opaque, gw_error *err) {
  rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n_headers);
  for (size_t i = 0; i < n_headers; i++)
    if (headers[i].value) rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
  rd_kafka_resp_err_t e = rd_kafka_producev(
      p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
      RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (e) {
    rd_kafka_headers_destroy(hdrs); /* ours again only when producev failed */
    if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
      return GW_ERR(err, GW_ETOOBIG, "%zu bytes once signed: more than Kafka takes in one message (message.max.bytes)",
                    value_len);
    return GW_ERR(err, GW_EKAFKA, "kafka refused the message: %s", rd_kafka_err2str(e));
  }
  return 0;
}

const char *gw_kafka_mock_bootstrap(gw_kafka_producer *p) { return p->mock_bootstrap; }

int gw_kafka_produce_grouped(gw_kafka_producer *p, const char *topic, const char *key, size_t key_len,
                             const void *value, size_t value_len, gw_error *err) {
  /* The producer's default partitioner looks at the key up to '|'. */
  return gw_kafka_produce(p, topic, key, key_len, value, value_len, NULL, 0, NULL, err);
}

int gw_kafka_create_topic(gw_kafka_producer *p, const char *name, int partitions, int compact, int timeout_ms,
                          gw_error *err) {
  char es[512];
  rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(p->rk);
  if (mc) {
    /* The mock cluster has no controller to ask; it is told directly. */
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, 1);
    return e ? GW_ERR(err, GW_EKAFKA, "creating topic %s in the mock cluster: %s", name, rd_kafka_err2str(e)) : 0;
  }
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions, -1, es, sizeof(es));
  if (!nt) return GW_ERR(err, GW_EKAFKA, "topic %s: %s", name, es);
  if (compact) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
  rd_kafka_queue_t *q = rd_kafka_queue_new(p->rk);
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(p->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, es, sizeof(es));
  rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, es, sizeof(es));
  rd_kafka_CreateTopics(p->rk, &nt, 1, o, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
  int rc = 0;
  if (!ev) {
    rc = GW_ERR(err, GW_EKAFKA, "creating topic %s: no answer in %d ms", name, timeout_ms);
  } else if (rd_kafka_event_error(ev)) {
    rc = GW_ERR(err, GW_EKAFKA, "creating topic %s: %s", name, rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t **r = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n && !rc; i++) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        rc = GW_ERR(err, GW_EKAFKA, "creating topic %s: %s", name, rd_kafka_topic_result_error_string(r[i]));
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  return rc;
}

size_t gw_kafka_inflight(gw_kafka_producer *p) {
  if (!p) return 0;
  int n = rd_kafka_outq_len(p->rk);
  return n > 0 ? (size_t)n : 0;
}

int gw_kafka_ready(gw_kafka_producer *p) { return atomic_load(&p->ready); }

static void on_poll_closed(uv_handle_t *h) {
  gw_kafka_producer *p = h->data;
  close(p->pipefd[0]);
  close(p->pipefd[1]);
  free(p->mock_bootstrap);
  free(p);
}

void gw_kafka_producer_close(gw_kafka_producer *p, int timeout_ms) {
  if (!p) return;
  uv_mutex_lock(&p->mu);
  p->stopping = 1;
  uv_cond_signal(&p->cond);
  uv_mutex_unlock(&p->mu);
  uv_thread_join(&p->prober);
  /* rd_kafka_flush serves delivery reports itself, so callbacks still run. */
  rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
  if (e) gw_log(GW_LOG_ERROR, "kafka_flush", "%d message(s) not acknowledged at shutdown: %s",
                rd_kafka_outq_len(p->rk), rd_kafka_err2str(e));
  drain(p);
  rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
  rd_kafka_queue_destroy(p->mainq);
  rd_kafka_destroy(p->rk);
  uv_mutex_destroy(&p->mu);
  uv_cond_destroy(&p->cond);
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}
