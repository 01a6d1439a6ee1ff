/* lmcgw — list of the built-in adapters (static storage, never freed). */
#ifndef GW_ADAPTERS_BUILTIN_H
#define GW_ADAPTERS_BUILTIN_H

#include "adapter.h"

/* Writes up to max adapters to out; returns how many. */
size_t gw_builtin_adapters(const gw_adapter **out, size_t max);

#endif
