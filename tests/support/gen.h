/* Random canonical consignments for property-based tests, walking the field
 * tables of model.c. Values are drawn from each field's real domain (country
 * codes, HS codes, decimals, dates...) so that formats that type their fields
 * accept them. A filter leaves out fields a format pair does not carry. */
#ifndef LMCGW_TEST_GEN_H
#define LMCGW_TEST_GEN_H

#include <stdint.h>

#include "model/model.h"

/* Return 1 to generate the field at this index-free path ("items.hs_code"). */
typedef int (*gen_filter_fn)(const char *path, void *ud);

typedef struct gen_rng {
  uint64_t s;
} gen_rng;

uint32_t gen_next(gen_rng *r);

/* Fills *c (zeroed by the caller) with a random consignment of this kind. */
void gen_consignment(gen_rng *r, const char *kind, gen_filter_fn filter, void *ud, gw_consignment *c);

#endif
