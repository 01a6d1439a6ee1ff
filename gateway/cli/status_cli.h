/* lmcgw — `lmcgw status UCR`: asks a running gateway where a shipment stands
 * (GET /v1/shipments/{ucr}) and prints it for people, or as JSON. Takes
 * main's argc/argv from "status" on; returns the exit status (0 found,
 * 1 not found or refused, 2 usage or no answer). Never exit()s itself. */
#ifndef GW_CLI_STATUS_CLI_H
#define GW_CLI_STATUS_CLI_H

int gw_cli_status(int argc, char **argv);

#endif
