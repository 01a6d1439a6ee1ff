/* libFuzzer target: the portal JSON format into the canonical model and back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_consignment c = {0};
  gw_problems p = {0};
  if (gw_model_from_json((const char *)data, size, &c, &p) == 0) free(gw_model_to_json(&c, 0));
  free(gw_problems_json(&p, NULL));
  gw_problems_free(&p);
  gw_model_free(&c);
  return 0;
}
