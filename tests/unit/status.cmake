lmcgw_unit(status)
