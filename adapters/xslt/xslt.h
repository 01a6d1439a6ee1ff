/* lmcgw — XML formats declared in the config as a pair of XSLT stylesheets,
 * to and from the canonical XML form (model/xmlform.h), so a participant can
 * add its national format without writing C.
 *
 * Stylesheets run with libxslt's security preferences denying every file
 * and network access, so a stylesheet cannot read or write the gateway's disk.
 * Because a stylesheet's coverage is not declared, encode() finds lossy fields
 * by reading its own output back and reporting what did not survive. */
#ifndef GW_ADAPTERS_XSLT_H
#define GW_ADAPTERS_XSLT_H

#include "adapters/adapter.h"
#include "config/config.h"

/* Compiles both stylesheets. *out is heap memory freed by gw_xslt_adapter_free. */
int gw_xslt_adapter_new(const gw_adapter_cfg *ac, gw_adapter **out, gw_error *err);

/* Frees an adapter made by gw_xslt_adapter_new, or a plain heap copy of a
 * plugin's adapter (anything else the registry owns). */
void gw_xslt_adapter_free(gw_adapter *a);

#endif
