/* lmcgw — the offline format commands: validate, inspect, translate, formats.
 * Each takes main's argc/argv from the command name on and returns the
 * process exit status (0 ok, 1 a message is invalid or a step failed,
 * 2 usage). They never exit() themselves. */
#ifndef GW_CLI_FORMATS_CLI_H
#define GW_CLI_FORMATS_CLI_H

int gw_cli_validate(int argc, char **argv);
int gw_cli_inspect(int argc, char **argv);
int gw_cli_translate(int argc, char **argv);
int gw_cli_formats(int argc, char **argv);

#endif
