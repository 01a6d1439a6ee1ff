# The inspector page's file server (gateway/ui) and the project's ui/ files.
lmcgw_unit(ui)
