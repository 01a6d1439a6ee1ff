/* lmcgw — business rules over the canonical model: what an XSD cannot say
 * (code lists, cross-field sums and orders, what each kind of document must
 * name). Each finding is one gw_problem with a stable code, a severity, the
 * canonical path ("items[2].net_weight.unit", 0-based as gw_model_visit
 * writes it) and line 0 (the caller maps paths to lines when it can).
 * Reentrant; reads the consignment only. */
#ifndef GW_RULES_RULES_H
#define GW_RULES_RULES_H

#include "model/model.h"
#include "pipeline/problems.h"

/* Checks c and appends what it finds to p. Returns the number of "error"
 * problems found (warnings and infos are not counted), also when p is full
 * and drops them. "Now" for the future-date rule is time(NULL). */
int gw_rules_check(const gw_consignment *c, gw_problems *p);

/* As gw_rules_check with "now" given as seconds since the Unix epoch (UTC),
 * so that tests and replays are deterministic. */
int gw_rules_check_at(const gw_consignment *c, long long now_epoch, gw_problems *p);

/* Every rule code with a one-line description: a static, NULL-terminated
 * array of pairs {code, description, code, description, ..., NULL}. */
const char *const *gw_rules_codes(void);

#endif
