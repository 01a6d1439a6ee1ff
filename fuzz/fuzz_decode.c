/* libFuzzer target: everything a message meets on receipt, whatever its
 * format — sniffing, hardened XML parsing, schema validation, the adapter's
 * decode, code lists and rules — and then encoding into every format that
 * can carry it, as translation for any destination would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/registry.h"
#include "pipeline/check.h"
#include "pipeline/xml.h"

static gw_registry *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  gw_error err = {0};
  if (gw_xml_global_init(&err) || gw_registry_new(LMCGW_SOURCE_DIR "/schemas", NULL, &reg, &err))
    abort(); /* the fuzzer cannot run without its formats */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_decoded d = {0};
  gw_problems p = {0};
  if (gw_registry_decode(reg, (const char *)data, size, NULL, &d, &p) == 0) {
    gw_check_message(&d.model, &p);
    for (size_t i = 0; i < gw_registry_count(reg); i++) {
      const gw_adapter *a = gw_registry_at(reg, i);
      if (!gw_adapter_can_encode(a, d.kind)) continue;
      gw_encoded e = {0};
      gw_problems ep = {0};
      gw_registry_encode(reg, a, &d.model, 1, &e, &ep);
      gw_encoded_free(&e);
      gw_problems_free(&ep);
    }
  }
  free(gw_problems_json(&p, "fuzz"));
  gw_problems_free(&p);
  gw_decoded_free(&d);
  return 0;
}
