/* lmcgw — the configuration of the gateway's own Kafka clients besides the
 * routing producer (tail readers, the ingest consumer and its transactional
 * producer): the connection and group-membership settings of kafka.*, and
 * nothing that is the producer's business (acks, linger.ms...). */
#ifndef GW_KAFKA_CONF_H
#define GW_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>

#include "config/config.h"
#include "core/error.h"

/* A new conf with client.id "<instance_id>-<role>" and those settings;
 * bootstrap, when not NULL, replaces bootstrap.servers (the mock cluster's
 * address). NULL on error (err says which key). The caller owns the conf. */
rd_kafka_conf_t *gw_kafka_client_conf(const gw_config *cfg, const char *role, const char *bootstrap, gw_error *err);

/* Makes every topic of a producer built from c partition by the part of
 * the key before the first '|' (see gw_kafka_produce_grouped): status
 * events of one consignment then share its partition. */
void gw_kafka_conf_grouped(rd_kafka_conf_t *c);

/* rd_kafka_conf_set with the error as a gw_error naming the key. */
int gw_kafka_conf_set(rd_kafka_conf_t *c, const char *key, const char *value, gw_error *err);

#endif
