/* libFuzzer target: the XML path of a submission — hardened parse, schema
 * choice and validation against the project's declaration schema, UCR and
 * destination extraction. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "pipeline/xml.h"

static gw_config cfg;
static gw_schemas *schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  gw_error err = {0};
  if (gw_xml_global_init(&err) || gw_config_dev(&cfg, LMCGW_SOURCE_DIR, "/tmp", &err) ||
      gw_schemas_load(&schemas, cfg.schemas, cfg.n_schemas, &err))
    abort(); /* the fuzzer cannot run without its schemas */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xmlDocPtr doc = NULL;
  gw_problems p = {0};
  if (gw_xml_parse((const char *)data, size, &doc, &p) == 0) {
    const gw_schema_cfg *which = NULL;
    if (gw_schemas_validate(schemas, doc, &which, &p) == 0) {
      free(gw_schemas_extract(schemas, which, doc, 0));
      free(gw_schemas_extract(schemas, which, doc, 1));
    }
    xmlFreeDoc(doc);
  }
  free(gw_problems_json(&p, "fuzz"));
  gw_problems_free(&p);
  return 0;
}
