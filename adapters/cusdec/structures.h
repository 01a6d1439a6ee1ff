/* lmcgw — CUSDEC/CUSRES message structures (UNTDID D.96B, D.99B) as tables
 * for gw_edi_check_structure (structures.c). */
#ifndef GW_ADAPTERS_CUSDEC_STRUCTURES_H
#define GW_ADAPTERS_CUSDEC_STRUCTURES_H

#include "edifact.h"

extern const gw_edi_structure gw_cusdec_st_cusdec_d96b, gw_cusdec_st_cusdec_d99b;
extern const gw_edi_structure gw_cusdec_st_cusres_d96b, gw_cusdec_st_cusres_d99b;

#endif
