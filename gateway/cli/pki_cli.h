/* lmcgw — `lmcgw pki init` and `lmcgw pki revoke` (gateway/pki/pki.h). Takes
 * main's argc/argv from "pki" on and returns the process exit status (0 ok,
 * 1 failed, 2 usage). Never exit()s itself. */
#ifndef GW_CLI_PKI_CLI_H
#define GW_CLI_PKI_CLI_H

int gw_cli_pki(int argc, char **argv);

#endif
