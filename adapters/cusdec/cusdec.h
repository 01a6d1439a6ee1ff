/* lmcgw — the CUSDEC/CUSRES adapter's entry points beyond gw_adapter_cusdec. */
#ifndef GW_ADAPTERS_CUSDEC_CUSDEC_H
#define GW_ADAPTERS_CUSDEC_CUSDEC_H

#include "adapters/adapter.h"
#include "edifact.h"

/* Encodes c as CUSDEC (declaration) or CUSRES (response) of directory
 * release "96B" or "99B" (the adapter's encode() uses "99B"). Output as for
 * gw_adapter.encode: out->data malloc'd, caller frees. */
int gw_cusdec_encode_dir(const gw_consignment *c, const char *release, gw_adapter_output *out, gw_problems *p);

/* The structure table for message type ("CUSDEC"/"CUSRES") and release
 * ("96B"/"99B"), NULL when unsupported. */
const gw_edi_structure *gw_cusdec_structure(const char *type, const char *release);

#endif
