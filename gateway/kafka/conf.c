#include "kafka/conf.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  gw_log(level <= 3 ? GW_LOG_ERROR : level <= 5 ? GW_LOG_WARN : GW_LOG_DEBUG, "kafka_log", "%s: %s: %s",
         rd_kafka_name(rk), fac, buf);
}

int gw_kafka_conf_set(rd_kafka_conf_t *c, const char *key, const char *value, gw_error *err) {
  char es[512];
  if (rd_kafka_conf_set(c, key, value, es, sizeof(es)) != RD_KAFKA_CONF_OK)
    return GW_ERR(err, GW_ECONFIG, "kafka.%s: %s", key, es);
  return 0;
}

static int client_key(const char *k) {
  static const char *const prefixes[] = {"bootstrap.servers", "security.", "ssl.", "sasl.", "socket.", "reconnect.",
                                         "client.rack", "broker.", "topic.metadata.", "api.version", "session.timeout.ms",
                                         "heartbeat.interval.ms", "max.poll.interval.ms", NULL};
  for (const char *const *p = prefixes; *p; p++)
    if (!strncmp(k, *p, strlen(*p))) return 1;
  return 0;
}

rd_kafka_conf_t *gw_kafka_client_conf(const gw_config *cfg, const char *role, const char *bootstrap, gw_error *err) {
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  char cid[300];
  snprintf(cid, sizeof(cid), "%s-%s", cfg->instance_id, role);
  rd_kafka_conf_set_log_cb(c, on_log);
  int rc = gw_kafka_conf_set(c, "client.id", cid, err);
  for (size_t i = 0; i < cfg->n_kafka && !rc; i++)
    if (client_key(cfg->kafka[i].key)) rc = gw_kafka_conf_set(c, cfg->kafka[i].key, cfg->kafka[i].value, err);
  if (!rc && bootstrap) rc = gw_kafka_conf_set(c, "bootstrap.servers", bootstrap, err);
  if (rc) {
    rd_kafka_conf_destroy(c);
    return NULL;
  }
  return c;
}

static int32_t grouped_partitioner(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t partition_cnt,
                                   void *rkt_opaque, void *msg_opaque) {
  const char *bar = key ? memchr(key, '|', keylen) : NULL;
  size_t n = bar ? (size_t)(bar - (const char *)key) : keylen;
  return rd_kafka_msg_partitioner_murmur2(rkt, key, n, partition_cnt, rkt_opaque, msg_opaque);
}

void gw_kafka_conf_grouped(rd_kafka_conf_t *c) {
  /* Topic-level settings made on c (message.timeout.ms...) live in its
   * default topic conf: add to it, never replace it. */
  rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(c);
  if (tc) {
    rd_kafka_topic_conf_set_partitioner_cb(tc, grouped_partitioner);
    return;
  }
  tc = rd_kafka_topic_conf_new();
  rd_kafka_topic_conf_set_partitioner_cb(tc, grouped_partitioner);
  rd_kafka_conf_set_default_topic_conf(c, tc);
}

