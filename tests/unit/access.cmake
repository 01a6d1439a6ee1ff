lmcgw_unit(access)
