/* lmcgw — the portal JSON format: the canonical model as JSON (model/json.h),
 * described by schemas/json/lmcgw-consignment.schema.json. Traders' portals
 * send it; it carries every field of the model, so nothing is lossy. */
#include <string.h>

#include "adapters/adapter.h"
#include "model/json.h"

static int adapter_json_detect(const char *data, size_t len) {
  size_t i = 0;
  if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
    i = 3;
  while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) i++;
  return i < len && data[i] == '{' ? 60 : 0;
}

static int adapter_json_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out, gw_problems *p) {
  (void)a;
  int rc = gw_model_from_json(in->data, in->len, out, p);
  if (rc) return rc;
  if (!out->kind) {
    gw_problems_add(p, "json_missing_field", "error", 0, "/kind",
                    "'kind' is required (declaration, response, sps_certificate, sps_acknowledgement or "
                    "certificate_of_origin)");
    return GW_ESCHEMA;
  }
  if (strcmp(out->kind, GW_KIND_DECLARATION) && strcmp(out->kind, GW_KIND_RESPONSE) && strcmp(out->kind, GW_KIND_SPS) &&
      strcmp(out->kind, GW_KIND_SPS_ACK) && strcmp(out->kind, GW_KIND_CO)) {
    gw_problems_add(p, "json_bad_value", "error", 0, "/kind",
                    "kind '%s' is not declaration, response, sps_certificate, sps_acknowledgement or "
                    "certificate_of_origin",
                    out->kind);
    return GW_ESCHEMA;
  }
  return 0;
}

static int adapter_json_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out, gw_problems *p) {
  (void)a;
  out->data = gw_model_to_json(c, 1);
  if (!out->data) {
    gw_problems_add(p, "internal", "error", 0, "", "out of memory");
    return GW_ENOMEM;
  }
  out->len = strlen(out->data);
  return 0;
}

static const char *const adapter_json_carries[] = {"*", NULL};

const gw_adapter gw_adapter_json = {
    .abi = GW_ADAPTER_ABI,
    .name = "json",
    .description = "portal JSON: the canonical model as JSON (schemas/json/lmcgw-consignment.schema.json)",
    .media_type = "application/json",
    .kinds = "declaration,response,sps_certificate,sps_acknowledgement,certificate_of_origin",
    .roots = NULL,
    .carries = adapter_json_carries,
    .detect = adapter_json_detect,
    .decode = adapter_json_decode,
    .encode = adapter_json_encode,
};
