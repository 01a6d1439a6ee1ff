lmcgw_unit(trust)
