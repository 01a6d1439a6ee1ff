lmcgw_unit(adapter_sps)
