/* lmcgw — the canonical model as JSON (the portal format and `lmcgw inspect`).
 *
 * Keys are the field names of model.c's tables; absent fields and empty arrays
 * are left out; every scalar is a JSON string (numbers are accepted on input
 * and kept as their decimal text). Unknown keys are errors, so a typo in a
 * portal never passes as an empty field. */
#ifndef GW_MODEL_JSON_H
#define GW_MODEL_JSON_H

#include <stddef.h>

#include "model/model.h"
#include "pipeline/problems.h"

/* Returns a malloc'd JSON text (indented when pretty), NULL on ENOMEM. */
char *gw_model_to_json(const gw_consignment *c, int pretty);

/* Parses JSON text into *out (zeroed by the caller; caller frees with
 * gw_model_free also on failure). Each problem carries a JSON pointer path
 * ("/items/0/net_weight/value") and, for syntax errors, the line.
 * Returns 0, GW_EPARSE (not JSON), GW_ESCHEMA (wrong shape) or GW_ENOMEM. */
int gw_model_from_json(const char *text, size_t len, gw_consignment *out, gw_problems *p);

/* The JSON Schema (draft 2020-12) of the format, generated from the field
 * tables: malloc'd text. schemas/json/lmcgw-consignment.schema.json is this
 * output, and a test keeps the two equal. */
char *gw_model_json_schema(void);

#endif
