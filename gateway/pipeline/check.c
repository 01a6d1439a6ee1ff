/* lmcgw — checks beyond the schema (see check.h). */
#include "pipeline/check.h"

#include "rules/rules.h"

int gw_check_message(const gw_consignment *c, gw_problems *p) { return gw_rules_check(c, p); }
