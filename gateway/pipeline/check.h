/* lmcgw — the checks every decoded message passes beyond its schema: code
 * lists and business rules (gateway/rules), the same for HTTP, Kafka and the
 * command line. Problems carry canonical paths ("items[1].net_weight"). */
#ifndef GW_PIPELINE_CHECK_H
#define GW_PIPELINE_CHECK_H

#include "model/model.h"
#include "pipeline/problems.h"

/* Appends problems; returns the number of errors among them. */
int gw_check_message(const gw_consignment *c, gw_problems *p);

#endif
