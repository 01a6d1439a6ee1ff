lmcgw_unit(rules)
