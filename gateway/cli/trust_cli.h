/* lmcgw — `lmcgw sign` and `lmcgw verify`: enveloped XMLDSig signatures made
 * with a key and certificate, and checked against a trust store directory.
 * Each takes main's argc/argv from the command name on and returns the exit
 * status (0 ok, 1 a file is invalid or a step failed, 2 usage). */
#ifndef GW_CLI_TRUST_CLI_H
#define GW_CLI_TRUST_CLI_H

#include <time.h>

int gw_cli_sign(int argc, char **argv);
int gw_cli_verify(int argc, char **argv);

/* "2026-06-01", "2026-06-01T12:00", "2026-06-01T12:00:00Z",
 * "2026-06-01T12:00:00+07:00" (no zone = UTC). 0 on success. */
int gw_cli_parse_time(const char *s, time_t *out);

#endif
