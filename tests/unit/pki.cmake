# Development PKI (gateway/pki): pki init, pki revoke, the dev signer.
lmcgw_unit(pki)
